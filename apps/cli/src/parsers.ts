/**
 * Option value parsers for commander. Each throws commander's `InvalidArgumentError`, so a bad
 * value becomes "option '--epochs <n>' argument 'abc' is invalid. …" and exit code 2.
 */
import { InvalidArgumentError } from 'commander';
import { scalingMethods, type ScalingMethod } from '@loom/loom';
import { UsageError } from './errors.js';

const INTEGER = /^[+]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A whole number ≥ 1 (`--epochs`, `--batch-size`, `--workers`, `--limit`). */
export function positiveInt(value: string): number {
  const n = INTEGER.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('Must be a positive integer.');
  return n;
}

/** A whole number in [0, 2^32) (`--seed`: the RNG takes 32 bits). */
export function seed(value: string): number {
  const n = INTEGER.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new InvalidArgumentError('Must be an integer from 0 to 4294967295.');
  return n;
}

/** A finite number > 0 (`--learning-rate`). */
export function positiveNumber(value: string): number {
  const n = NUMBER.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Must be a number greater than 0.');
  return n;
}

/** A fraction in [0, 1) (`--validation-split`). */
export function fraction(value: string): number {
  const n = NUMBER.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('Must be a number from 0 up to (not including) 1.');
  return n;
}

/** Hidden layer sizes, `500,500`; an empty string means no hidden layer (softmax regression). */
export function layerSizes(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const sizes = parts.map((p) => (INTEGER.test(p) ? Number(p) : NaN));
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new InvalidArgumentError('Must be comma-separated positive integers, such as 500,500.');
  }
  return sizes;
}

/** A label column: an index when it is a whole number (negative counts from the end), else a header name. */
export function column(value: string): string | number {
  if (value.trim() === '') throw new InvalidArgumentError('Must be a column name or index.');
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

/**
 * `--normalize`: a scaling method. Thrown as a UsageError rather than commander's own message,
 * so the line says what the option expects: "--normalize must be minmax or standard, got 'x'".
 */
export function scalingMethod(value: string): ScalingMethod {
  const method = value.trim();
  if (!scalingMethods.includes(method as ScalingMethod)) {
    throw new UsageError(`--normalize must be ${scalingMethods.join(' or ')}, got '${value}'`);
  }
  return method as ScalingMethod;
}
