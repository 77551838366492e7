import { argmaxRow } from '@loom/tensor';
import { getLoss, lossNames, type LossKernel } from './losses.js';

/**
 * Metrics return a SUM over rows (shards add up; the trainer divides by the sample count).
 * `accuracy` picks its variant from the shapes, as Keras 3 does: binary (threshold 0.5) when the
 * model has one output, sparse when labels are class indices (one per sample, several
 * outputs), categorical (argmax against argmax) otherwise.
 */
export interface MetricKernel {
  readonly name: string;
  compute(pred: Float32Array, labels: Float32Array, rows: number, cols: number): number;
}

const categoricalAccuracy: MetricKernel = {
  name: 'accuracy',
  compute(pred, y, rows, cols) {
    let correct = 0;
    for (let r = 0, o = 0; r < rows; r++, o += cols) if (argmaxRow(pred, o, cols) === argmaxRow(y, o, cols)) correct++;
    return correct;
  },
};

const sparseAccuracy: MetricKernel = {
  name: 'accuracy',
  compute(pred, y, rows, cols) {
    let correct = 0;
    for (let r = 0, o = 0; r < rows; r++, o += cols) if (argmaxRow(pred, o, cols) === y[r]) correct++;
    return correct;
  },
};

const binaryAccuracy: MetricKernel = {
  name: 'accuracy',
  compute(pred, y, rows, cols) {
    let total = 0;
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      let hits = 0;
      for (let j = 0; j < cols; j++) if ((pred[o + j]! > 0.5 ? 1 : 0) === y[o + j]) hits++;
      total += hits / cols;
    }
    return total;
  },
};

function lossMetric(loss: LossKernel, name: string): MetricKernel {
  return { name, compute: (pred, y, rows, cols) => loss.compute(pred, y, rows, cols, null, 0) };
}

export const metricNames: readonly string[] = Object.freeze(['accuracy', 'acc', ...lossNames]);

/** Resolves a metric name for a model compiled with `loss` whose output has `outputWidth` values. */
export function getMetric(name: string, loss: LossKernel, outputWidth = 2): MetricKernel {
  if (name === 'accuracy' || name === 'acc') {
    if (outputWidth === 1) return binaryAccuracy;
    if (loss.labelWidth(outputWidth) === 1) return sparseAccuracy;
    return categoricalAccuracy;
  }
  if (typeof name === 'string' && lossNames.includes(name)) return lossMetric(getLoss(name), name);
  throw new Error(`Unknown metric '${String(name)}'. Known: ${metricNames.join(', ')}`);
}

/**
 * The typed form of the `'accuracy'` metric. Like the string (and unlike Keras's class of the same
 * name, which compares values for equality) it picks categorical, sparse or binary accuracy from
 * the loss and the output width.
 */
export class Accuracy {
  readonly name = 'accuracy';
}
