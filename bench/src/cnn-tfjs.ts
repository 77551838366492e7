/**
 * TensorFlow.js on the cnn suite's convnet. Its pure-JS cpu backend takes about a minute per
 * step at batch 128 here (an epoch of 469 steps: hours), and its wasm backend has no kernel for
 * the convolution's weight gradient, so both run in a child process (cnn-tfjs-child.ts) that the
 * suite kills at a deadline: the suite never hangs, and what did not finish is recorded as a lower
 * bound ("more than X s per step") or as the refusal message, instead of a time.
 */
import { spawn } from 'node:child_process';
import type * as TF from '@tensorflow/tfjs';
import { stepTiming, type StepTiming } from './mlp.js';
import type { TfBackend, Tf } from './tfjs.js';

/** Keras's MNIST convnet in tfjs, compiled as the suite's recipe (Adam 1e-3, 0.9, 0.999, 1e-7). */
export function buildTfCnn(tf: Tf): TF.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: 0.5 }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
  return model;
}

/** What the child prints, one JSON object a line. */
export type TfjsChildEvent =
  | { event: 'ready'; backend: string }
  | { event: 'start'; step: number }
  | { event: 'end'; step: number; ms: number }
  | { event: 'error'; step: number; message: string }
  | { event: 'done' };

/** What became of one tfjs backend on the convnet. */
export type TfjsCnnOutcome =
  /** At least one timed step finished (`partial`: the deadline came before all of them did). */
  | { kind: 'timed'; backend: TfBackend; timing: StepTiming; partial: boolean; deadlineS: number }
  /** No timed step finished before the deadline: a step takes more than `lowerBoundMs`. */
  | { kind: 'deadline'; backend: TfBackend; lowerBoundMs: number; warmupDone: number; deadlineS: number }
  /** trainOnBatch threw: the backend cannot train this network (tfjs-wasm: no Conv2DBackpropFilter). */
  | { kind: 'refused'; backend: TfBackend; message: string }
  /** The child itself failed (tfjs missing, a crash): not a property of the backend. */
  | { kind: 'failed'; backend: TfBackend; message: string };

export interface TfjsCnnOptions {
  batchSize: number;
  warmupSteps: number;
  steps: number;
  /** Wall-clock seconds from the first step's start; the child is killed then. */
  deadlineS: number;
}

/** The child's path: built JavaScript (under tests, which import src/, it is in dist/). */
export function tfjsChildPath(): string {
  const here = new URL(import.meta.url);
  return new URL(here.pathname.endsWith('.ts') ? '../dist/cnn-tfjs-child.js' : './cnn-tfjs-child.js', here).pathname;
}

/**
 * Folds the child's events into an outcome. `killedAtMs` is the time (ms since the first step's
 * start, on the parent's clock) at which the deadline killed the child, or null if it ended by itself.
 */
export function tfjsOutcome(backend: TfBackend, o: TfjsCnnOptions, events: readonly TfjsChildEvent[], killedAtMs: number | null, stderr = ''): TfjsCnnOutcome {
  const error = events.find((e) => e.event === 'error');
  if (error && error.event === 'error') return { kind: 'refused', backend, message: error.message };
  const ends = events.filter((e): e is Extract<TfjsChildEvent, { event: 'end' }> => e.event === 'end');
  const timed = ends.filter((e) => e.step >= o.warmupSteps);
  if (timed.length > 0) {
    // Step end times relative to the first timed step's start, as stepTiming takes them.
    const marks = [0];
    for (const e of timed) marks.push(marks[marks.length - 1]! + e.ms);
    const partial = timed.length < o.steps;
    return { kind: 'timed', backend, timing: stepTiming(marks, o.batchSize, 1, o.warmupSteps, 0), partial, deadlineS: o.deadlineS };
  }
  if (killedAtMs !== null) {
    const warmupMs = ends.reduce((a, e) => a + e.ms, 0);
    return { kind: 'deadline', backend, lowerBoundMs: killedAtMs - warmupMs, warmupDone: ends.length, deadlineS: o.deadlineS };
  }
  const why = stderr.trim().split('\n').filter(Boolean).pop() ?? 'the child printed no step';
  return { kind: 'failed', backend, message: why };
}

/**
 * Runs `warmupSteps + steps` tfjs `trainOnBatch` calls of the convnet on `backend` in a child
 * process, and kills it `deadlineS` seconds after its first step began (or, before that, after
 * a start-up allowance of the same length).
 */
export function timeTfjsCnn(backend: TfBackend, o: TfjsCnnOptions, log: (line: string) => void = () => {}): Promise<TfjsCnnOutcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [tfjsChildPath(), JSON.stringify({ backend, batchSize: o.batchSize, steps: o.warmupSteps + o.steps })], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: TfjsChildEvent[] = [];
    let stdout = '', stderr = '';
    let firstStart: number | null = null;
    let killedAtMs: number | null = null;
    const kill = () => {
      killedAtMs = firstStart === null ? 0 : performance.now() - firstStart;
      child.kill('SIGKILL');
    };
    // Loading tfjs and MNIST takes seconds; a child that never starts a step is killed as well.
    let timer = setTimeout(kill, o.deadlineS * 1000 + 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl).trim();
        stdout = stdout.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let e: TfjsChildEvent;
        try {
          e = JSON.parse(line) as TfjsChildEvent;
        } catch {
          continue;
        }
        events.push(e);
        if (e.event === 'start' && firstStart === null) {
          firstStart = performance.now();
          clearTimeout(timer);
          timer = setTimeout(kill, o.deadlineS * 1000);
        } else if (e.event === 'end') {
          log(`cnn: tfjs-${backend}: step ${e.step + 1} took ${(e.ms / 1000).toFixed(1)} s`);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      done({ kind: 'failed', backend, message: err.message });
    });
    child.on('close', () => {
      clearTimeout(timer);
      if (killedAtMs !== null && firstStart === null) done({ kind: 'failed', backend, message: `the child started no step within ${o.deadlineS + 60} s` });
      else done(tfjsOutcome(backend, o, events, killedAtMs, stderr));
    });
  });
}
