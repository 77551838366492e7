import { allocFloat32, formatShape, partStart } from '@loom/tensor';
import { checkInitializer } from './initializers.js';

/** Where a forward pass runs: training or inference, and the keys dropout masks are drawn from. */
export interface StepInfo {
  training: boolean;
  seed: number;
  step: number;
  /** Index within the whole batch of this shard's first row, so masks do not depend on sharding. */
  rowOffset: number;
  /**
   * Rows of the whole batch whose statistics a layer with batch syncs combines (from row 0 of
   * its statistics buffer, once every worker, and every process, put its rows there); the
   * shard's own rows when absent (one party).
   */
  batchRows?: number;
  /**
   * This process's rows within that batch, [shareFrom, shareFrom + shareRows): across processes
   * a layer's weight gradient sums only them (the all-reduce adds the other processes'). The
   * whole batch when absent.
   */
  shareFrom?: number;
  shareRows?: number;
}

/** Where a layer stopped at a batch sync left its rows' statistics: one row of `width` values per batch row. */
export interface BatchStatsBuffer {
  data: Float32Array;
  width: number;
}

/** A weight a layer asks for; the model places its value and gradient in flat parameter buffers. */
export interface WeightSpec {
  name: string;
  shape: number[];
  initializer: string;
  size: number;
  /**
   * False for state a layer updates itself (BatchNormalization's moving statistics): it lives in
   * the flat parameters, so checkpoints, `getWeights` and broadcasts carry it, but the optimizer
   * never touches it and its gradient stays zero.
   */
  trainable: boolean;
  value: Float32Array;
  grad: Float32Array;
}

export type LayerConfig = Record<string, unknown> & { name?: string };

let nameCounter = 0;
const EMPTY = new Float32Array(0);

/**
 * Keras's lifecycle: the constructor stores the config, `build(inputShape)` asks for weights
 * with `addWeight`, `forward` is the forward pass, `getConfig()` is what a checkpoint stores.
 *
 * Forward and backward run on flat, row-major Float32Arrays that the layer owns and reuses
 * (sized for the largest batch seen): a training step allocates nothing once warm. Shapes are
 * per sample; the batch dimension is the `rows` argument.
 */
export abstract class Layer {
  abstract readonly className: string;
  readonly name: string;
  readonly weights: WeightSpec[] = [];
  inputShape: number[] | null = null;
  outputShape: number[] | null = null;
  protected capacity = 0;

  constructor(config: LayerConfig = {}) {
    this.name = config?.name ?? `${snakeCase(this.constructor.name)}_${++nameCounter}`;
  }

  get built(): boolean {
    return this.outputShape !== null;
  }

  // Computed once in build: the step reads them every call, and a reduce would allocate.
  private inSize = 1;
  private outSize = 1;

  get inputSize(): number {
    return this.inSize;
  }

  get outputSize(): number {
    return this.outSize;
  }

  /**
   * Multiply-adds of one sample's forward pass, roughly: what decides whether a batch is worth
   * splitting between threads. A layer's weights by default (each used once per sample, as in
   * Dense); a convolution uses its kernel at every output position.
   */
  get workPerSample(): number {
    return this.paramCount;
  }

  /** Number of values in the layer's weights, trainable or not (Keras's `count_params`). */
  get paramCount(): number {
    return this.weights.reduce((p, w) => p + w.size, 0);
  }

  /** Creates the weights for a per-sample input shape. Called once by the model. */
  build(inputShape: readonly number[]): void {
    this.inputShape = [...inputShape];
    this.outputShape = this.computeOutputShape(inputShape);
    this.inSize = this.inputShape.reduce((p, d) => p * d, 1);
    this.outSize = this.outputShape.reduce((p, d) => p * d, 1);
  }

  /** Declares a weight; its storage is bound later by the model (`WeightSpec.value`/`grad`). */
  protected addWeight(name: string, shape: number[], initializer: string, trainable = true): WeightSpec {
    checkInitializer(initializer, `${this.name}.${name} initializer`);
    const w: WeightSpec = { name: `${this.name}/${name}`, shape, initializer, size: shape.reduce((p, d) => p * d, 1), trainable, value: EMPTY, grad: EMPTY };
    this.weights.push(w);
    return w;
  }

  abstract computeOutputShape(inputShape: readonly number[]): number[];

  /** Forward pass over `rows` samples of `x`; returns a buffer the layer owns. */
  abstract forward(x: Float32Array, rows: number, info: StepInfo): Float32Array;

  /**
   * The row-local half of the backward pass for the last forward: the output gradient of this
   * window's rows (kept in the step buffers for `weightGradients`) and, when `needInputGrad`,
   * dL/dx of those rows in a buffer the layer owns. Weight gradients need every row and come
   * from `weightGradients`.
   */
  abstract backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation?: boolean): Float32Array | null;

  /**
   * The activation applied last by this layer. A loss fused with it (softmax + cross-entropy,
   * sigmoid + binary cross-entropy) passes the gradient of the pre-activation and
   * `preActivation = true` to `backward`, for numerical stability.
   */
  get outputActivation(): string {
    return 'linear';
  }

  /** The constructor options that rebuild this layer (Keras's `get_config`). */
  getConfig(): LayerConfig {
    return { name: this.name };
  }

  /**
   * Floats per sample of each of the layer's step buffers, in a fixed order (Dense: z, y, dz,
   * dx). Each is allocated for a whole batch; in a threaded step every worker sees the same
   * ones and works in its own window of rows, so a chunk owner can read every row of an
   * activation or output gradient (see `weightGradients`).
   */
  protected abstract bufferWidths(): number[];

  /**
   * Points the layer's working views at the rows from `from` on of each step buffer, in
   * `bufferWidths` order (each view runs to the end of its buffer).
   */
  protected abstract bindWindow(views: Float32Array[]): void;

  /** Floats per sample of all the layer's step buffers together (what a batch row costs in memory). */
  get stepWidth(): number {
    return this.bufferWidths().reduce((p, w) => p + w, 0);
  }

  private buffers: Float32Array[] = [];
  private widths: number[] = [];
  private windowFrom = -1;

  /** Grows the layer's buffers to hold `rows` samples from its window on; a no-op once large enough. */
  ensureCapacity(rows: number): void {
    if (this.windowFrom >= 0 && this.windowFrom + rows <= this.capacity) return;
    if (this.windowFrom > 0) throw new RangeError(`${this.name}: rows ${this.windowFrom}..${this.windowFrom + rows} exceed its buffers of ${this.capacity} rows`);
    this.reallocate(rows);
  }

  /** Allocates fresh buffers for `rows` samples from the current allocator (e.g. wasm memory). */
  reallocate(rows: number): void {
    this.widths = this.bufferWidths();
    this.adoptBuffers(this.widths.map((w) => allocFloat32(rows * w)), rows);
  }

  /** The step buffers, whole-batch (what another thread adopts to share them). */
  get stepBuffers(): readonly Float32Array[] {
    return this.buffers;
  }

  /** Takes over step buffers of `rows` samples (e.g. another thread's, on shared memory). */
  adoptBuffers(buffers: readonly Float32Array[], rows: number): void {
    this.widths = this.bufferWidths();
    if (buffers.length !== this.widths.length || buffers.some((b, i) => b.length < rows * this.widths[i]!)) {
      throw new RangeError(`${this.name}.adoptBuffers: expected ${this.widths.length} buffers of ${this.widths.map((w) => w * rows).join(', ')} floats`);
    }
    this.buffers = [...buffers];
    this.capacity = rows;
    this.windowFrom = -1;
    this.setWindow(0);
  }

  /**
   * Makes the step work on rows from `from` on of the buffers (a worker's shard of the batch).
   * New views only when the window moves (the last, smaller batch of an epoch), so a step
   * allocates nothing.
   */
  setWindow(from: number): void {
    if (from === this.windowFrom) return;
    // Never allocated (a model used without allocateBuffers): the first forward allocates.
    if (this.capacity === 0 && from === 0) return;
    if (from > this.capacity) throw new RangeError(`${this.name}.setWindow: row ${from} is past its ${this.capacity} rows`);
    this.windowFrom = from;
    this.bindWindow(this.buffers.map((b, i) => b.subarray(from * this.widths[i]!)));
  }

  /** Step buffer `index` (in `bufferWidths` order), whole-batch: every row, whatever the window. */
  protected wholeBuffer(index: number): Float32Array {
    return this.buffers[index]!;
  }

  /**
   * The whole-batch buffer that holds this layer's output of the last step (training or not,
   * as `training` says) when its whole-batch input is `input`; a layer that passed its input
   * through returns `input`. The next layer's weight gradient reads every row of it.
   */
  abstract wholeOutput(input: Float32Array, training: boolean): Float32Array;

  /**
   * This layer's share of the weight gradient: part `part` of `parts` of every weight (cut
   * along the weight's first axis, `weightChunk`), summed over all `rows` rows of the batch in
   * row order, from `input` (the whole-batch input) and the output gradients that `backward`
   * left in the step buffers. The same bits for any `parts`. A layer without weights does
   * nothing.
   */
  weightGradients(_input: Float32Array, _rows: number, _part: number, _parts: number): void {}

  /**
   * How often a training step's row stage must stop in this layer until every worker's rows
   * have reached it: 0 for a layer whose rows are independent, 2 (once forward, once backward)
   * for one with batch statistics. There, `gatherRowStats` records what this window's rows
   * contribute, then every worker waits for all of them, then `forward`/`backward` go on with
   * the statistics of the whole batch.
   */
  get batchSyncs(): number {
    return 0;
  }

  /**
   * A layer with `batchSyncs`: this window's rows' share of the batch statistics of the pass
   * that is about to run (forward: from the input x; backward: from the output gradient dy),
   * written into the step buffers, where every worker reads every row's after the wait.
   */
  gatherRowStats(_pass: 'forward' | 'backward', _data: Float32Array, _rows: number): void {}

  /**
   * The whole-batch buffer `gatherRowStats` wrote for `pass`, row r of the batch at
   * `r · width`: across processes the engine puts every process's rows in it (in global row
   * order) before the layer goes on. Null for a layer without batch syncs.
   */
  batchStatsBuffer(_pass: 'forward' | 'backward'): BatchStatsBuffer | null {
    return null;
  }

  /**
   * Updates state the layer keeps besides trainable weights (moving statistics) for part `part`
   * of `parts`, after the step's gradient is final; the parts cover each state weight once.
   */
  updateState(_part: number, _parts: number): void {}

  protected checkBuilt(): void {
    if (!this.built) throw new Error(`Layer ${this.name} is not built: add it to a model and build the model first`);
  }

  toString(): string {
    return `${this.className}(${this.name}, output ${this.outputShape ? formatShape(this.outputShape) : '?'})`;
  }
}

/**
 * [from, to) (as flat offsets within the weight) of part `part` of `parts` of a weight, cut
 * along its rows as a matrix `[fan-in, last axis]` (a Dense kernel's input features, a Conv2D
 * kernel's `kh·kw·cin` patch values) or, for a vector, along its one axis (a bias's units, a
 * BatchNormalization's channels): contiguous, so the optimizer updates it in one range, and
 * balanced for every layer.
 */
export function weightChunkStart(weight: { shape: number[]; size: number }, parts: number, part: number): number {
  const rank = weight.shape.length;
  const lead = rank >= 2 ? (weight.shape[rank - 1] === 0 ? 0 : weight.size / weight.shape[rank - 1]!) : (weight.shape[0] ?? 1);
  return partStart(lead, parts, part) * (lead === 0 ? 0 : weight.size / lead);
}

/** Keras's default layer names: `MaxPooling2D` → `max_pooling2d`, `Conv2D` → `conv2d`. */
function snakeCase(className: string): string {
  return className.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Validates a positive integer option, naming the layer and the option. */
export function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
