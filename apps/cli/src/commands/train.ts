/** `loom train`: build (or resume) a multilayer perceptron, fit it on all cores, checkpoint, evaluate. */
import { randomInt } from 'node:crypto';
import os from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import {
  Callback, ModelCheckpoint, Sequential, activationNames, defaultWorkers, latestCheckpoint, layers, lossNames, modelFromCheckpointBytes,
  optimizerNames, processGroupFromEnv, setSeed, type History, type ProcessGroup, type ScalingMethod,
} from '@loom/loom';
import { asModelInput, classCount, labeledCsv, mnist, targets, type LabeledData } from '../data.js';
import { UsageError, signalExitCode, EXIT } from '../errors.js';
import { InterruptGuard } from '../interrupt.js';
import { column, fraction, layerSizes, positiveInt, positiveNumber, scalingMethod, seed } from '../parsers.js';
import { classesOnlyInValidation, fitTrainingScaling, scaleFeatures, shuffleRows, trainingRows } from '../prepare.js';
import { architecture, formatLogs, percent, printJson } from '../report.js';
import { historyChart } from '../history-chart.js';

/** Checkpoint file names inside --checkpoint-dir; `{epoch}` is the number of epochs completed. */
export const CHECKPOINT_PATTERN = 'ckpt-{epoch}.loom';
/** Checkpoints kept by a run (older ones it wrote are deleted). */
const KEEP = 3;
/** Default epochs: enough for ~97% on MNIST, short enough that `npm start` ends in a minute or two on 2 cores. */
const DEFAULT_EPOCHS = 2;

/** The models `loom train` builds: the tutorial's MLP, or Keras's MNIST convnet. */
export const MODEL_NAMES = ['mlp', 'cnn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface TrainOptions {
  model: ModelName;
  epochs: number;
  /** Default: 100 for mlp (the tutorial), 128 for cnn (Keras's convnet example). */
  batchSize?: number;
  workers: number;
  optimizer: string;
  learningRate?: number;
  layers: number[];
  activation: string;
  loss: string;
  seed?: number;
  limit?: number;
  validationSplit: number;
  checkpointDir: string;
  resume?: boolean;
  plot?: string;
  json?: boolean;
  data?: string;
  testData?: string;
  labelColumn: string | number;
  header: boolean;
  normalize?: ScalingMethod;
  shuffleBeforeSplit?: boolean;
  verbose?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .summary('train a model on MNIST or a CSV file, on all cores, with checkpoints')
    .description(
      'Train a multilayer perceptron on all cores, with a progress bar, checkpoints and Ctrl-C to stop and resume. ' +
        `By default: the classic MNIST model, 784-500-500-10 relu/softmax, categorical crossentropy, Adam, batch 100, for ${DEFAULT_EPOCHS} epochs ` +
        `(about 97% test accuracy; ${DEFAULT_EPOCHS} epochs keep \`npm start\` to a minute or two on a 2-core machine; --epochs 20 reaches about 98%).`,
    )
    .option('--epochs <n>', 'total epochs to train (a resumed run continues up to this number)', positiveInt, DEFAULT_EPOCHS)
    .addOption(new Option('--model <name>', 'mlp: --layers of Dense units (784-500-500-10 by default); cnn: Keras\'s MNIST convnet (Conv2D 32 3×3, MaxPooling 2, Conv2D 64 3×3, MaxPooling 2, Flatten, Dropout 0.5, Dense 10), on MNIST images').choices([...MODEL_NAMES]).default('mlp'))
    .option('--batch-size <n>', 'samples per mini-batch (default: 100 for mlp, 128 for cnn)', positiveInt)
    .addOption(new Option('--workers <n>', 'worker threads sharing each batch').argParser(positiveInt).default(defaultWorkers(), workersDefault()))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices([...optimizerNames]).default('adam'))
    .option('--learning-rate <x>', "learning rate (default: the optimizer's Keras default)", positiveNumber)
    .addOption(new Option('--layers <sizes>', 'hidden layer sizes, comma-separated ("" for none)').argParser(layerSizes).default([500, 500], '500,500'))
    .addOption(new Option('--activation <name>', 'activation of the hidden layers').choices([...activationNames]).default('relu'))
    .addOption(new Option('--loss <name>', 'loss function').choices([...lossNames]).default('categorical_crossentropy'))
    .option('--seed <n>', 'seed weight initialization, shuffling and dropout: two runs with the same seed and workers are identical', seed)
    .option('--limit <n>', 'use only the first N training samples', positiveInt)
    .option('--validation-split <x>', 'fraction of the training samples held out for validation (the last ones, as Keras takes them)', fraction, 0)
    .option('--shuffle-before-split', 'shuffle the samples (seeded by --seed) before --validation-split takes the last ones, e.g. for a file sorted by class')
    .option('--normalize <method>', 'scale every feature: minmax (to [0, 1]) or standard (zero mean, unit variance), with statistics from the training part only; kept in the checkpoint for evaluate and predict', scalingMethod)
    .option('--checkpoint-dir <dir>', `where checkpoints go (${CHECKPOINT_PATTERN}, the last ${KEEP} kept)`, 'checkpoints')
    .option('--resume', 'continue from the newest checkpoint in --checkpoint-dir (the model and optimizer come from it)')
    .option('--plot <file.svg>', 'write loss and accuracy per epoch (train and validation) as an SVG chart')
    .option('--json', 'print one JSON object with the result instead of progress and text')
    .option('--data <file.csv>', 'train on a numeric CSV file instead of MNIST (features used as they are unless --normalize)')
    .option('--test-data <file.csv>', 'with --data: a CSV file to report test accuracy on')
    .option('--label-column <name|index>', 'with --data: the column holding the class (0, 1, …)', column, 'label')
    .option('--no-header', 'with --data: the CSV files have no header row (give --label-column as an index)')
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', [
      '',
      'Examples:',
      '  loom train                                  # MNIST, 2 epochs, progress bar, test accuracy',
      '  loom train --epochs 20 --seed 1 --plot mnist.svg',
      '  loom train --resume --epochs 20             # after Ctrl-C, or to train further',
      '  loom train --model cnn --epochs 12              # Keras\'s MNIST convnet: about 99% test accuracy',
      '  loom train --layers 128 --optimizer sgd --learning-rate 0.1 --batch-size 32',
      '  loom train --data iris.csv --label-column species --layers 16 --epochs 50 --batch-size 8',
      '  loom train --data iris.csv --label-column species --normalize standard --validation-split 0.2 --shuffle-before-split --seed 1',
      '  loom train --limit 2000 --epochs 1 --json',
    ].join('\n'))
    .action(async (options: TrainOptions, command: Command) => {
      // --layers and --activation shape the MLP only: given with cnn they would be dropped silently.
      for (const flag of ['layers', 'activation'] as const) {
        if (options.model === 'cnn' && command.getOptionValueSource(flag) === 'cli') throw new UsageError(`--${flag} applies to --model mlp; --model cnn is Keras's convnet`);
      }
      process.exitCode = await train(options);
    });
}

interface Summary {
  command: 'train';
  model: string;
  data: string;
  samples: number;
  classes: number;
  epochs: number;
  completedEpochs: number;
  step: number;
  batchSize: number;
  workers: number;
  seed: number;
  resumedFrom: string | null;
  interrupted: string | null;
  checkpoint: string | null;
  history: Record<string, number[]>;
  normalize: ScalingMethod | null;
  test: { samples: number; loss: number; accuracy?: number; metrics: Record<string, number> } | null;
  plot: string | null;
  seconds: number;
}

/**
 * How many times `loom launch` (or torchrun, or another torchelastic launcher) restarted this
 * group: a restarted rank continues from the newest checkpoint, as if given --resume.
 */
function restartCount(): number {
  const value = process.env.TORCHELASTIC_RESTART_COUNT;
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`TORCHELASTIC_RESTART_COUNT must be a non-negative integer, got '${value}'`);
  return n;
}

/** How --help describes the default worker count. */
function workersDefault(): string {
  const n = defaultWorkers(), cores = os.availableParallelism();
  return n === cores ? `all ${cores} cores` : `${n}: ${cores} cores shared by LOCAL_WORLD_SIZE=${process.env.LOCAL_WORLD_SIZE} processes`;
}

/** Runs `loom train`; resolves to the exit code. */
export async function train(options: TrainOptions): Promise<number> {
  const o = { ...options, batchSize: options.batchSize ?? (options.model === 'cnn' ? 128 : 100) };
  const t0 = performance.now();
  if (o.testData && !o.data) throw new UsageError('--test-data needs --data (MNIST has its own test set)');
  if (o.model === 'cnn' && o.data) throw new UsageError('--model cnn trains on MNIST images; --data gives flat CSV rows (use --model mlp)');
  const guard = new InterruptGuard().install();
  try {
    // Across processes (torchrun's variables): join the group first, so a bad variable, an
    // unreachable master or a busy port fails before any data is loaded.
    const group = await processGroupFromEnv();
    const rank = group?.rank ?? 0;
    // Only rank 0 prints progress and results, as only it writes checkpoints.
    const say = (line: string) => { if (!o.json && rank === 0) process.stdout.write(`${line}\n`); };
    const restarts = restartCount();
    const loaded = await loadData(o);
    const { model, classes, resumedFrom } = await openModel(o, loaded.trainSet, loaded.testSet, say, group, restarts);
    // An image model (new, or resumed from a checkpoint) sees MNIST's rows as the images they are.
    loaded.trainSet.x = asModelInput(model, loaded.trainSet.x);
    if (loaded.testSet) loaded.testSet.x = asModelInput(model, loaded.testSet.x);
    const resuming = resumedFrom !== null;
    // The fit seed also orders --shuffle-before-split, so a resumed run (which keeps the
    // checkpoint's seed) splits the samples exactly as the first run did.
    const fitSeed = resuming ? model.progress.seed : o.seed ?? (o.shuffleBeforeSplit ? randomInt(2 ** 32) : undefined);
    const { trainSet, testSet } = prepareSamples(o, model, loaded.trainSet, loaded.testSet, fitSeed, resumedFrom);

    const y = targets(model.loss, trainSet.y, classes);
    const checkpoint = new ModelCheckpoint({ filepath: join(o.checkpointDir, CHECKPOINT_PATTERN), keep: KEEP });
    const initialEpoch = model.progress.epoch;
    let interrupted: NodeJS.Signals | null = null;
    let workersUsed = o.workers;
    if (initialEpoch >= o.epochs && model.progress.step > 0) {
      throw new UsageError(`--epochs ${o.epochs}: ${resumedFrom} stopped inside epoch ${initialEpoch + 1}; give --epochs ${initialEpoch + 1} or more to finish it`);
    }
    if (initialEpoch >= o.epochs) {
      say(`Nothing to train: the checkpoint already has ${initialEpoch} epochs (--epochs ${o.epochs}); raise --epochs to train further`);
    } else {
      // Said once fit has started: the worker count is what the batch keeps busy, which can be
      // fewer than --workers (see @loom/coordinator's usefulWorkers).
      const header = new OnTrainBegin((workers, worldSize) => (workersUsed = workers, say(`Training ${architecture(model)} on ${trainSet.y.length} ${trainSet.source} samples` +
        `${o.validationSplit > 0 ? ` (${percent(o.validationSplit, 0)} held out for validation${o.shuffleBeforeSplit ? ', after a shuffle' : ''})` : ''}` +
        `${model.inputScaling ? `, ${model.inputScaling.method}-scaled` : ''}: ` +
        `${epochRange(initialEpoch, o.epochs, Boolean(resumedFrom))}, batch ${o.batchSize}, ${model.optimizer!.name}, ${worldSize > 1 ? `${worldSize} processes × ` : ''}${workerCount(workers, o.workers)}`)));
      await model.fit(trainSet.x, y, {
        batchSize: o.batchSize, epochs: o.epochs, initialEpoch, seed: resuming ? undefined : fitSeed,
        validationSplit: o.validationSplit, workers: o.workers, callbacks: [header, checkpoint, guard], verbose: o.json ? 0 : 1,
      });
      interrupted = checkpoint.interrupted;
    }
    guard.finished();
    const saved = checkpoint.lastSaved ?? resumedFrom;
    const history = model.trainingHistory;
    const summary: Summary = {
      command: 'train', model: architecture(model), data: trainSet.source, samples: trainSet.y.length, classes,
      epochs: o.epochs, completedEpochs: model.progress.epoch, step: model.progress.step, batchSize: o.batchSize,
      workers: workersUsed, seed: model.progress.seed, resumedFrom, interrupted, checkpoint: saved,
      history: history.history, normalize: model.inputScaling?.method ?? null, test: null, plot: null, seconds: 0,
    };

    if (interrupted) {
      const where = checkpoint.lastSaved
        ? `checkpoint saved to ${checkpoint.lastSaved}; run the same command with --resume to continue`
        : 'stopped before the first batch finished; nothing new to save';
      process.stderr.write(`Interrupted: ${where}\n`);
      if (o.json && rank === 0) printJson({ ...summary, seconds: seconds(t0) });
      return signalExitCode(interrupted);
    }

    // The other ranks hold the same weights and History: rank 0 alone reports.
    if (rank !== 0) return EXIT.ok;
    if (o.plot) {
      await writeFile(o.plot, historyChart(history.history, history.epoch, `${architecture(model)} on ${trainSet.source}`));
      summary.plot = o.plot;
      say(`Plot: ${o.plot}`);
    }
    if (testSet) {
      const values = await model.evaluate(testSet.x, targets(model.loss, testSet.y, classes), { batchSize: o.batchSize, workers: o.workers });
      const metrics = Object.fromEntries(['loss', ...model.metricNames].map((n, i) => [n, values[i]!]));
      summary.test = { samples: testSet.y.length, loss: values[0]!, metrics, ...(metrics.accuracy !== undefined ? { accuracy: metrics.accuracy } : {}) };
      say(metrics.accuracy !== undefined
        ? `Test accuracy: ${percent(metrics.accuracy)} (loss ${values[0]!.toFixed(4)}, ${testSet.y.length} ${testSet.source} samples)`
        : `Test: ${formatLogs(metrics)} (${testSet.y.length} samples)`);
    } else {
      say(`Final epoch: ${formatLogs(lastEpoch(history))}`);
    }
    if (saved) say(checkpoint.lastSaved ? `Checkpoint saved to ${saved}` : `Checkpoint: ${saved}`);
    if (o.json) printJson({ ...summary, seconds: seconds(t0) });
    return EXIT.ok;
  } finally {
    guard.uninstall();
  }
}

/**
 * The samples `fit` gets: shuffled first with --shuffle-before-split, checked for classes that
 * only the validation part holds (a warning: Keras trains on them the same way, but the
 * val_accuracy it reports is then meaningless), and scaled with --normalize, whose statistics
 * come from the training part (a new run) or from the checkpoint (--resume).
 */
function prepareSamples(
  o: TrainOptions, model: Sequential, trainSet: LabeledData, testSet: LabeledData | null, fitSeed: number | undefined, resumedFrom: string | null,
): { trainSet: LabeledData; testSet: LabeledData | null } {
  if (resumedFrom && o.normalize !== undefined && o.normalize !== model.inputScaling?.method) {
    const kept = model.inputScaling?.method;
    throw new UsageError(`--normalize ${o.normalize}: ${resumedFrom} was trained ${kept ? `with --normalize ${kept}` : 'without --normalize'}; ` +
      'with --resume the scaling comes from the checkpoint, so leave --normalize out or give the same one');
  }
  if (o.shuffleBeforeSplit) trainSet = shuffleRows(trainSet, fitSeed!);
  const rows = trainingRows(trainSet, o.validationSplit);
  const onlyInValidation = o.validationSplit > 0 ? classesOnlyInValidation(trainSet.y, rows) : [];
  if (onlyInValidation.length > 0) {
    const n = onlyInValidation.length;
    process.stderr.write(`loom: warning: the validation part (the last ${trainSet.y.length - rows} of ${trainSet.y.length} samples of ${trainSet.source}) ` +
      `holds class${n === 1 ? '' : 'es'} ${onlyInValidation.join(', ')}, which the training part lacks: the model cannot learn ${n === 1 ? 'it' : 'them'}, ` +
      `and val_accuracy counts ${n === 1 ? 'it' : 'them'} as wrong${o.shuffleBeforeSplit ? '' : '; --shuffle-before-split mixes the samples first'}\n`);
  }
  // A new run fits the statistics on the training part; a resumed one keeps the checkpoint's.
  const scaling = resumedFrom ? model.inputScaling : o.normalize ? fitTrainingScaling(trainSet, rows, o.normalize) : null;
  model.inputScaling = scaling;
  const scale = (set: LabeledData): LabeledData => ({ ...set, x: scaleFeatures(set.x, scaling, set.source, resumedFrom ?? 'the model') });
  return { trainSet: scale(trainSet), testSet: testSet && scale(testSet) };
}

/** Calls back with the worker count fit runs on, when training begins. */
class OnTrainBegin extends Callback {
  constructor(private readonly said: (workers: number, worldSize: number) => void) {
    super();
  }
  override onTrainBegin(): void {
    this.said(this.params.workers, this.params.worldSize);
  }
}

function workerCount(used: number, requested: number): string {
  const n = `${used} worker${used === 1 ? '' : 's'}`;
  return used === requested ? n : `${n} (of ${requested}: a batch of this size keeps ${used === 1 ? 'one' : 'only that many'} busy)`;
}

/**
 * A new model from the options, or with --resume (or in a restarted group) the newest
 * checkpoint's model, optimizer and progress. Across processes rank 0 reads the checkpoint and
 * sends its bytes to the other ranks, so only rank 0 needs the checkpoint folder.
 */
async function openModel(
  o: TrainOptions, trainSet: LabeledData, testSet: LabeledData | null, say: (line: string) => void,
  group: ProcessGroup | null, restarts: number,
): Promise<{ model: Sequential; classes: number; resumedFrom: string | null }> {
  const fresh = () => {
    const classes = classCount(concatLabels(trainSet, testSet), o.data ?? 'MNIST');
    return { model: buildModel(o, trainSet.x.shape.slice(1).reduce((p, d) => p * d, 1), classes), classes, resumedFrom: null };
  };
  if (!o.resume && restarts === 0) return fresh();
  const rank = group?.rank ?? 0;
  const path = rank === 0 ? await latestCheckpoint(o.checkpointDir, CHECKPOINT_PATTERN) : undefined;
  let bytes: Uint8Array | null = path ? await readFile(path) : rank === 0 ? new Uint8Array(0) : null;
  if (group) bytes = await group.broadcast(bytes, 0);
  if (bytes!.length === 0) {
    // A group restarted before its first checkpoint starts over.
    if (!o.resume) return fresh();
    throw new Error(`--resume: no checkpoint (${CHECKPOINT_PATTERN}) in ${o.checkpointDir}${rank === 0 ? '' : ' on rank 0'}`);
  }
  const resumedFrom = path ?? `rank 0's checkpoint`;
  const model = modelFromCheckpointBytes(bytes!, resumedFrom);
  if (!model.compiled) throw new Error(`--resume: ${resumedFrom} holds a model that was never compiled; it cannot continue training`);
  const { epoch, step } = model.progress;
  say(`Resuming from ${resumedFrom}${o.resume ? '' : ` (restart ${restarts} of the group)`}: ${epoch} epoch${epoch === 1 ? '' : 's'} done${step > 0 ? `, plus ${step} batches of epoch ${epoch + 1}` : ''}`);
  return { model, classes: model.outputSize, resumedFrom };
}

async function loadData(o: TrainOptions): Promise<{ trainSet: LabeledData; testSet: LabeledData | null }> {
  if (!o.data) {
    const { train, test } = await mnist(o.limit);
    return { trainSet: train, testSet: test };
  }
  const trainSet = await labeledCsv({ path: o.data, labelColumn: o.labelColumn, header: o.header, limit: o.limit });
  const testSet = o.testData ? await labeledCsv({ path: o.testData, labelColumn: o.labelColumn, header: o.header }) : null;
  return { trainSet, testSet };
}

function concatLabels(a: LabeledData, b: LabeledData | null): ArrayLike<number> {
  if (!b) return a.y;
  const all = new Float64Array(a.y.length + b.y.length);
  all.set(a.y);
  all.set(b.y, a.y.length);
  return all;
}

/**
 * --model mlp: the hidden layers from --layers and --activation, then one output per class.
 * --model cnn: Keras's MNIST convnet (keras.io/examples/vision/mnist_convnet) on [28, 28, 1] images.
 */
function buildModel(o: TrainOptions, features: number, classes: number): Sequential {
  if (o.seed !== undefined) setSeed(o.seed);
  // Keras practice: softmax for one-of-N classes, sigmoid for independent binary outputs.
  const output = o.loss === 'binary_crossentropy' ? 'sigmoid' : 'softmax';
  const sizes = [...o.layers, classes];
  const model = o.model === 'cnn'
    ? new Sequential([
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [...MNIST_IMAGE] }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dropout({ rate: 0.5 }),
      layers.dense({ units: classes, activation: output }),
    ])
    : new Sequential(sizes.map((units, i) => layers.dense({
      units,
      activation: i === sizes.length - 1 ? output : o.activation,
      ...(i === 0 ? { inputShape: [features] } : {}),
    })));
  model.build(); // weights now, from the seed just set (and so the architecture can be printed)
  const optimizer = o.learningRate === undefined ? o.optimizer : { name: o.optimizer, config: { learningRate: o.learningRate } };
  model.compile({ loss: o.loss, optimizer, metrics: ['accuracy'] });
  return model;
}

/** MNIST's images, channels last, as Keras's convnet example takes them. */
const MNIST_IMAGE = [28, 28, 1] as const;

function lastEpoch(history: History): Record<string, number> {
  return Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k, v[v.length - 1]!]));
}

/** "2 epochs" for a fresh run; "epochs 2-5 of 5" when resuming. */
function epochRange(from: number, to: number, resuming: boolean): string {
  if (!resuming) return `${to} epoch${to === 1 ? '' : 's'}`;
  return from + 1 === to ? `epoch ${to} of ${to}` : `epochs ${from + 1}-${to} of ${to}`;
}

function seconds(t0: number): number {
  return Math.round(performance.now() - t0) / 1000;
}
