/** Argument checks shared by the loaders and the trainer; each error names the argument. */

/** Throws unless `batchSize` is a positive integer. */
export function assertBatchSize(batchSize: number, where = 'batches'): void {
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`${where}: batchSize must be a positive integer, got ${String(batchSize)}`);
  }
}

/** Throws unless `fraction` lies strictly between 0 and 1. */
export function assertFraction(fraction: number, name = 'fraction', where = 'split'): void {
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) {
    throw new RangeError(`${where}: ${name} must be a number strictly between 0 and 1, got ${String(fraction)}`);
  }
}

/** Throws unless `value` is an integer (any sign); used for seeds and epochs. */
export function assertInteger(value: number, name: string, where: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new RangeError(`${where}: ${name} must be an integer, got ${String(value)}`);
  }
}
