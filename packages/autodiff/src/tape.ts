import { Tensor, formatShape, shapesEqual, sumToShape, add as addKernel } from '@loom/tensor';

/**
 * The reverse-mode engine. Ops record themselves on the active tape only inside `grad()`, so
 * inference keeps nothing. The tape is in creation order, which is already a topological order:
 * backward is one reverse loop (no recursion, deterministic), and this file is the one place
 * that checks gradient shapes and un-broadcasts them.
 */

/** One differentiable op: forward and backward side by side. */
export interface OpDefinition<Attrs, Saved> {
  name: string;
  /** Computes the output; may return values that backward needs. */
  forward(inputs: readonly Tensor[], attrs: Attrs): { output: Tensor; saved?: Saved };
  /**
   * Gradients of the inputs given the output's gradient `dy`. A gradient may have the
   * broadcast (output) shape: the engine sums it down to the input's shape. `null` means
   * "not differentiable with respect to this input".
   */
  backward(dy: Tensor, inputs: readonly Tensor[], output: Tensor, saved: Saved, attrs: Attrs): (Tensor | null)[];
}

interface TapeEntry {
  op: OpDefinition<unknown, unknown>;
  inputs: readonly Tensor[];
  output: Tensor;
  saved: unknown;
  attrs: unknown;
}

let activeTape: TapeEntry[] | null = null;

/** Defines an op; the returned function runs forward and records itself when a gradient is being taken. */
export function defineOp<Attrs = undefined, Saved = undefined>(
  def: OpDefinition<Attrs, Saved>,
): (inputs: readonly Tensor[], attrs: Attrs) => Tensor {
  return (inputs, attrs) => {
    for (let i = 0; i < inputs.length; i++) {
      if (!(inputs[i] instanceof Tensor)) {
        throw new TypeError(`${def.name}: input ${i} must be a Tensor, got ${typeof inputs[i]}`);
      }
    }
    const { output, saved } = def.forward(inputs, attrs);
    if (activeTape) {
      activeTape.push({ op: def as OpDefinition<unknown, unknown>, inputs, output, saved, attrs });
    }
    return output;
  };
}

/** True while a gradient is being recorded. */
export function isRecording(): boolean {
  return activeTape !== null;
}

/**
 * Gradient of a scalar function: `grad(f)(x, y)` returns `[df/dx, df/dy]`, each with its
 * input's shape. Inputs that `f` does not use get a zero gradient.
 */
export function grad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  return (...args) => valueAndGrad(f)(...args).grads;
}

/** Like `grad`, but also returns the value of `f`. */
export function valueAndGrad(
  f: (...args: Tensor[]) => Tensor,
): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...args) => {
    const outer = activeTape;
    const tape: TapeEntry[] = [];
    activeTape = tape;
    let value: Tensor;
    try {
      value = f(...args);
    } finally {
      activeTape = outer;
    }
    if (!(value instanceof Tensor) || value.size !== 1) {
      throw new RangeError(
        `grad: f must return a scalar Tensor (one element), got ${value instanceof Tensor ? `shape ${formatShape(value.shape)}` : typeof value}`,
      );
    }
    const grads = backprop(tape, value);
    // The caller's arguments may have been passed twice: each gets the full accumulated gradient.
    return { value, grads: args.map((a) => grads.get(a) ?? new Tensor(new Float32Array(a.size), a.shape)) };
  };
}

function backprop(tape: TapeEntry[], output: Tensor): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  const seed = new Tensor(new Float32Array(output.size).fill(1), output.shape);
  grads.set(output, seed);
  for (let e = tape.length - 1; e >= 0; e--) {
    const entry = tape[e]!;
    const dy = grads.get(entry.output);
    if (!dy) continue; // does not influence the result
    const inputGrads = entry.op.backward(dy, entry.inputs, entry.output, entry.saved, entry.attrs);
    if (inputGrads.length !== entry.inputs.length) {
      throw new Error(`${entry.op.name}: backward returned ${inputGrads.length} gradients for ${entry.inputs.length} inputs`);
    }
    for (let i = 0; i < entry.inputs.length; i++) {
      let g = inputGrads[i];
      if (!g) continue;
      const x = entry.inputs[i]!;
      if (!shapesEqual(g.shape, x.shape)) {
        try {
          g = sumToShape(g, x.shape);
        } catch {
          throw new Error(
            `${entry.op.name}: gradient of input ${i} has shape ${formatShape(g.shape)}, expected ${formatShape(x.shape)}`,
          );
        }
      }
      const prev = grads.get(x);
      grads.set(x, prev ? addKernel(prev, g) : g);
    }
  }
  return grads;
}
