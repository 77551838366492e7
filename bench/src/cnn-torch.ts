/**
 * PyTorch on the cnn suite's convnet: `bench/python/torch_cnn.py` through torch.ts's child
 * runner (the same interpreter, OpenBLAS folder, thread settings and JSON protocol as the peers
 * and tutorial suites).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stepTiming, type StepTiming } from './mlp.js';
import { runTorchChild, type TorchOptions, type TorchOutcome } from './torch.js';

export const TORCH_CNN_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'python', 'torch_cnn.py');

/** Times `steps` PyTorch steps of the convnet after `warmupSteps`, timed as Loom's are. */
export async function timeTorchCnnSteps(
  o: { batchSize: number; trainLimit: number; warmupSteps: number; steps: number; threads: number; seed?: number } & TorchOptions,
): Promise<TorchOutcome<StepTiming>> {
  const r = await runTorchChild<{ endsMs: number[]; startupMs: number }>(
    { mode: 'time', batchSize: o.batchSize, trainLimit: o.trainLimit, warmupSteps: o.warmupSteps, steps: o.steps, seed: o.seed ?? 1 },
    o.threads, { ...o, script: o.script ?? TORCH_CNN_SCRIPT },
  );
  if (!r.available) return r;
  return { ...r, value: stepTiming(r.value.endsMs, o.batchSize, r.threads, o.warmupSteps, r.value.startupMs) };
}

/** One training run: test accuracy and loss after every epoch, each epoch's training seconds. */
export interface CnnCurve {
  accuracy: number[];
  loss: number[];
  epochSeconds: number[];
}

/** Trains the convnet for `epochs` epochs on the first `samples` images, evaluating the test set after each. */
export async function trainTorchCnn(
  o: { batchSize: number; epochs: number; samples: number; testLimit: number; seed: number; threads: number } & TorchOptions,
): Promise<TorchOutcome<CnnCurve>> {
  return runTorchChild<CnnCurve>(
    { mode: 'train', batchSize: o.batchSize, epochs: o.epochs, samples: o.samples, testLimit: o.testLimit, seed: o.seed },
    o.threads, { ...o, script: o.script ?? TORCH_CNN_SCRIPT },
  );
}
