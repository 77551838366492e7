/**
 * The base optimizer: it owns what the seven share (step count, slot memory, config, state export,
 * argument checks), so each subclass only declares its options and slots and calls its update rule.
 */
import { allocFloat32 } from '@loom/tensor';
import { formatValue } from './options.js';

/** Everything needed to resume an optimizer exactly: the step count and a copy of every slot. */
export interface OptimizerState {
  /** Completed steps; the next `apply` uses step number `iterations + 1`. */
  iterations: number;
  /** One entry per slot name, in `slotNames` order; `values[i]` is the slot of parameter `i`. */
  slots: { name: string; values: Float32Array[] }[];
}

/** Full optimizer config, camelCase Keras option names, defaults included. */
export type OptimizerConfig = Record<string, number | boolean>;

/** Allocates a zero-filled Float32Array of `n` elements (e.g. a view on a SharedArrayBuffer). */
export type SlotAllocator = (n: number) => Float32Array;

/**
 * Base class of the seven optimizers. Two ways to use one:
 * - standalone: `opt.apply(params, grads)` builds its slots on the first call, counts the step and
 *   updates every parameter in place;
 * - sharded (the coordinator): `build(sizes, alloc)` or `setSlots(views)` puts the slots in shared
 *   memory, then every thread calls `updateRange(param, grad, opt.slots[i], from, to, t)` on its own
 *   chunk with the same `t`. Each element's update reads only that element, so any split of
 *   `[0, n)` gives the same bits as one call over all of it.
 */
export abstract class Optimizer {
  /** Keras identifier: 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax', 'nadam'. */
  abstract readonly name: string;
  /** Class name, used to start error messages ('Adam'). */
  abstract readonly className: string;
  /** Names of the per-parameter slots, in the order `updateRange` receives them (Keras's names). */
  abstract readonly slotNames: readonly string[];
  /** The full, frozen config (defaults filled in). */
  abstract readonly config: Readonly<OptimizerConfig>;

  /** Completed steps. `apply` uses `iterations + 1` as the step number `t`, then stores it here. */
  iterations = 0;

  private paramSlots: Float32Array[][] = [];
  private paramSizes: number[] | null = null;

  /** Full config including defaults, camelCase; `optimizerFromConfig(name, getConfig())` rebuilds it. */
  getConfig(): OptimizerConfig {
    return { ...this.config };
  }

  /** True once slots exist (after `build`, `setSlots`, `setState` with slots, or the first `apply`). */
  get built(): boolean {
    return this.paramSizes !== null;
  }

  /**
   * `slots[paramIndex][slotIndex]`, slot indices in `slotNames` order. The arrays are the live
   * state (not copies); replace them with `setSlots`, not by editing this list.
   */
  get slots(): Float32Array[][] {
    return this.paramSlots;
  }

  /** Initial value of a slot: 0 unless an optimizer says otherwise (Adagrad's accumulator). */
  protected slotInitialValue(_slot: string): number {
    return 0;
  }

  /**
   * Creates the slots for parameters of the given sizes, filled with their initial values.
   * `alloc` lets the coordinator place them in shared memory (default: `@loom/tensor`'s allocator).
   * If the optimizer is already built, the sizes must match and the current slot values are copied
   * into the new arrays: building again moves state to new memory, it never loses it.
   */
  build(sizes: readonly number[], alloc: SlotAllocator = allocFloat32): void {
    const where = `${this.className}.build`;
    if (!Array.isArray(sizes)) throw new TypeError(`${where}: sizes must be an array of lengths, got ${formatValue(sizes)}`);
    sizes.forEach((n, i) => {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new RangeError(`${where}: sizes[${i}] must be a non-negative integer, got ${formatValue(n)}`);
      }
    });
    const old = this.paramSizes;
    if (old !== null) {
      if (old.length !== sizes.length) {
        throw new RangeError(`${where}: already built for ${old.length} params, got ${sizes.length} sizes`);
      }
      sizes.forEach((n, i) => {
        if (n !== old[i]) throw new RangeError(`${where}: param ${i} was built with length ${old[i]}, got ${n}`);
      });
    }
    const fresh = sizes.map((n, i) =>
      this.slotNames.map((name, s) => {
        const a = alloc(n);
        if (!(a instanceof Float32Array) || a.length !== n) {
          throw new TypeError(`${where}: alloc(${n}) must return a Float32Array of length ${n} (param ${i}, slot ${name})`);
        }
        if (old !== null) a.set(this.paramSlots[i]![s]!);
        else a.fill(this.slotInitialValue(name));
        return a;
      }),
    );
    this.paramSlots = fresh;
    this.paramSizes = sizes.slice();
  }

  /**
   * Replaces the slot arrays by `slots` (not copied: e.g. views on shared memory in a worker),
   * `slots[paramIndex]` holding one array per slot name. Lengths must agree within a parameter and,
   * once built, with the sizes built for. An optimizer without slots (SGD without momentum) has
   * nothing to set; its parameter sizes are then taken at the first `apply`.
   */
  setSlots(slots: Float32Array[][]): void {
    const where = `${this.className}.setSlots`;
    if (!Array.isArray(slots)) throw new TypeError(`${where}: expected an array (one entry per param), got ${formatValue(slots)}`);
    const sizes = this.paramSizes;
    if (sizes !== null && slots.length !== sizes.length) {
      throw new RangeError(`${where}: built for ${sizes.length} params, got slots for ${slots.length}`);
    }
    const k = this.slotNames.length;
    const lengths = slots.map((perParam, i) => {
      if (!Array.isArray(perParam) || perParam.length !== k) {
        throw new RangeError(
          `${where}: param ${i} needs ${k} slot arrays (${this.slotNames.join(', ') || 'none'}), got ${Array.isArray(perParam) ? perParam.length : formatValue(perParam)}`,
        );
      }
      let n = sizes?.[i] ?? -1;
      perParam.forEach((a, s) => {
        if (!(a instanceof Float32Array)) {
          throw new TypeError(`${where}: param ${i} slot ${this.slotNames[s]} must be a Float32Array`);
        }
        if (n === -1) n = a.length;
        if (a.length !== n) {
          throw new RangeError(`${where}: param ${i} slot ${this.slotNames[s]} has length ${a.length}, expected ${n}`);
        }
      });
      return n;
    });
    if (k === 0 && sizes === null) return;
    this.paramSlots = slots.map((perParam) => perParam.slice());
    this.paramSizes = lengths;
  }

  /**
   * The update rule over the flat range `param[from..to)` for step number `t` (1-based). Writes
   * `param` and `slots` in that range only and reads nothing outside it, so threads may run it on
   * disjoint ranges at once. Allocates nothing.
   */
  abstract updateRange(
    param: Float32Array,
    grad: Float32Array,
    slots: readonly Float32Array[],
    from: number,
    to: number,
    t: number,
  ): void;

  /**
   * One optimizer step: builds the slots on the first call, then updates every parameter in place
   * with step number `iterations + 1` and counts the step. Checks counts and lengths before
   * touching anything; it does not scan gradients for NaN (that would cost a pass per step).
   */
  apply(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    // Error messages are built only when thrown: apply allocates nothing on the normal path.
    if (!Array.isArray(params) || !Array.isArray(grads)) {
      throw new TypeError(`${this.className}.apply: params and grads must be arrays of Float32Arrays`);
    }
    if (params.length !== grads.length) {
      throw new RangeError(`${this.className}.apply: got ${params.length} params but ${grads.length} grads`);
    }
    const sizes = this.paramSizes;
    if (sizes !== null && params.length !== sizes.length) {
      throw new RangeError(`${this.className}.apply: built for ${sizes.length} params, got ${params.length}`);
    }
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const g = grads[i];
      if (!(p instanceof Float32Array)) throw new TypeError(`${this.className}.apply: param ${i} must be a Float32Array, got ${formatValue(p)}`);
      if (!(g instanceof Float32Array)) throw new TypeError(`${this.className}.apply: grad ${i} must be a Float32Array, got ${formatValue(g)}`);
      if (p.length !== g.length) {
        throw new RangeError(`${this.className}.apply: param ${i} has length ${p.length} but grad ${i} has length ${g.length}`);
      }
      if (sizes !== null && p.length !== sizes[i]) {
        throw new RangeError(`${this.className}.apply: param ${i} has length ${p.length} but the optimizer was built for length ${sizes[i]}`);
      }
    }
    if (sizes === null) this.build(params.map((p) => p.length));
    const t = this.iterations + 1;
    const slots = this.paramSlots;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      this.updateRange(p, grads[i]!, slots[i] ?? EMPTY, 0, p.length, t);
    }
    this.iterations = t;
  }

  /** A copy of the step count and every slot (for checkpoints). */
  getState(): OptimizerState {
    return {
      iterations: this.iterations,
      slots: this.slotNames.map((name, s) => ({ name, values: this.paramSlots.map((perParam) => perParam[s]!.slice()) })),
    };
  }

  /**
   * Restores a state from `getState` exactly: copies the values into the current slot arrays
   * (so slots in shared memory stay shared), or builds them first if the optimizer is not built.
   * Slot names must match `slotNames` exactly, and lengths the sizes built for; nothing changes
   * unless the whole state is valid.
   */
  setState(state: OptimizerState): void {
    const where = `${this.className}.setState`;
    if (state === null || typeof state !== 'object') throw new TypeError(`${where}: expected a state object, got ${formatValue(state)}`);
    const { iterations, slots } = state;
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw new RangeError(`${where}: iterations must be a non-negative integer, got ${formatValue(iterations)}`);
    }
    if (!Array.isArray(slots)) throw new TypeError(`${where}: slots must be an array, got ${formatValue(slots)}`);
    const byName = new Map<string, Float32Array[]>();
    for (const entry of slots) {
      const name = entry?.name;
      if (!this.slotNames.includes(name)) {
        throw new RangeError(`${where}: unexpected slot ${formatValue(name)}; ${this.className} has slots: ${this.slotNames.join(', ') || 'none'}`);
      }
      if (byName.has(name)) throw new RangeError(`${where}: slot ${formatValue(name)} appears twice`);
      if (!Array.isArray(entry.values)) throw new TypeError(`${where}: slot ${name} values must be an array of Float32Arrays`);
      byName.set(name, entry.values);
    }
    const missing = this.slotNames.filter((name) => !byName.has(name));
    if (missing.length > 0) throw new RangeError(`${where}: missing slot(s) ${missing.join(', ')}`);

    const sizes = this.paramSizes;
    if (this.slotNames.length > 0) {
      const first = byName.get(this.slotNames[0]!)!;
      const count = sizes?.length ?? first.length;
      const expected = sizes ?? first.map((a) => (a instanceof Float32Array ? a.length : -1));
      for (const name of this.slotNames) {
        const values = byName.get(name)!;
        if (values.length !== count) {
          throw new RangeError(`${where}: slot ${name} has values for ${values.length} params, expected ${count}`);
        }
        values.forEach((a, i) => {
          if (!(a instanceof Float32Array)) throw new TypeError(`${where}: slot ${name} param ${i} must be a Float32Array`);
          if (a.length !== expected[i]) {
            throw new RangeError(`${where}: slot ${name} param ${i} has length ${a.length}, expected ${expected[i]}`);
          }
        });
      }
      if (sizes === null) this.build(expected);
      this.slotNames.forEach((name, s) => {
        byName.get(name)!.forEach((a, i) => this.paramSlots[i]![s]!.set(a));
      });
    }
    this.iterations = iterations;
  }
}

const EMPTY: readonly Float32Array[] = Object.freeze([]);

/**
 * Checks a flat range against the arrays an update rule touches. Called once per update-rule call
 * (not per element): past the end, typed arrays read `undefined` (NaN in the math) and drop
 * writes, which would be a silent wrong result.
 */
export function checkRange(rule: string, from: number, to: number, param: Float32Array, grad: Float32Array): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= param.length && to <= grad.length)) {
    throw new RangeError(
      `${rule}: range [${from}, ${to}) must be integers with 0 <= from <= to <= length (param ${param.length}, grad ${grad.length})`,
    );
  }
}

/** Checks that a slot array covers `[0, to)`. */
export function checkSlot(rule: string, slot: string, array: Float32Array | undefined, to: number): asserts array is Float32Array {
  if (!(array instanceof Float32Array) || array.length < to) {
    throw new RangeError(`${rule}: slot ${slot} must be a Float32Array of length >= ${to}, got ${array === undefined ? 'none' : array.length}`);
  }
}

/** Checks a 1-based step number (bias corrections divide by `1 - beta^t`, which is 0 at t = 0). */
export function checkStep(rule: string, t: number): void {
  if (!(Number.isSafeInteger(t) && t >= 1)) throw new RangeError(`${rule}: step t must be an integer >= 1, got ${formatValue(t)}`);
}
