import { Tensor, allocFloat32, formatShape, getGlobalRandom, heapAllocator, withAllocator, type Allocator } from '@loom/tensor';
import { initialize } from './initializers.js';
import { Dropout } from './dropout.js';
import { weightChunkStart, type BatchStatsBuffer, type Layer, type StepInfo, type WeightSpec } from './layer.js';
import type { LossKernel } from './losses.js';
import type { MetricKernel } from './metrics.js';
import { deserializeLayer, serializeLayer, type LayerRecord } from './registry.js';

interface RowCursor {
  backward: boolean;
  layer: number;
  /** The current layer already gathered its rows' statistics: the next run goes past it. */
  gathered: boolean;
  fused: boolean;
  h: Float32Array;
  dy: Float32Array | null;
  labels: Float32Array;
  rows: number;
  loss: LossKernel | null;
  gradScale: number;
  info: StepInfo | null;
}

export interface SequentialConfig {
  name?: string;
  layers: LayerRecord[];
}

/** Where each weight lives in the flat parameter buffer. */
export interface WeightSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * A stack of layers: the graph, its flat parameters, and one training or inference step over
 * flat buffers. No loop and no optimizer here: `loom` drives epochs and the coordinator applies
 * updates. All weights live in ONE Float32Array (and their gradients in another), each weight a
 * view at its offset, so an optimizer or an all-reduce is a loop over one range and a worker
 * replica can point its views at shared memory.
 */
export class Sequential {
  readonly layers: Layer[] = [];
  readonly name: string;
  params: Float32Array = new Float32Array(0);
  grads: Float32Array = new Float32Array(0);
  slots: WeightSlot[] = [];
  private outGrad: Float32Array = new Float32Array(0);
  private isBuilt = false;

  constructor(layers: Layer[] = [], options: { name?: string } = {}) {
    this.name = options.name ?? 'sequential';
    for (const l of layers) this.add(l);
  }

  /** Appends a layer (before the model is built). */
  add(layer: Layer): this {
    if (this.isBuilt) throw new Error(`${this.name}: cannot add layers after the model is built`);
    if (!layer || typeof (layer as Layer).forward !== 'function') {
      throw new TypeError(`${this.name}.add: expected a layer (e.g. layers.dense({ units: 10 })), got ${String(layer)}`);
    }
    if (this.layers.some((l) => l.name === layer.name)) {
      throw new Error(`${this.name}.add: a layer named '${layer.name}' is already in the model`);
    }
    this.layers.push(layer);
    return this;
  }

  get built(): boolean {
    return this.isBuilt;
  }

  /** The per-sample input shape the first layer declares (`inputShape`), if any. */
  get declaredInputShape(): number[] | undefined {
    return (this.layers[0] as { declaredInputShape?: number[] } | undefined)?.declaredInputShape;
  }

  get inputShape(): number[] {
    this.checkBuilt();
    return this.layers[0]!.inputShape!;
  }

  get outputShape(): number[] {
    this.checkBuilt();
    return this.layers[this.layers.length - 1]!.outputShape!;
  }

  get inputSize(): number {
    this.checkBuilt();
    return this.layers[0]!.inputSize;
  }

  get outputSize(): number {
    this.checkBuilt();
    return this.layers[this.layers.length - 1]!.outputSize;
  }

  /** Total number of weight values, trainable or not (Keras's `count_params`). */
  countParams(): number {
    return this.params.length;
  }

  /** Roughly the multiply-adds of one sample's forward pass (`Layer.workPerSample`): how much a batch is worth splitting. */
  workPerSample(): number {
    this.checkBuilt();
    return this.layers.reduce((p, l) => p + l.workPerSample, 0);
  }

  /**
   * Builds every layer for a per-sample `inputShape`, places the weights in one flat buffer from
   * `allocator`, and initializes them in layer order (kernel, then bias) from the seeded global
   * generator.
   */
  build(inputShape?: readonly number[], options: { allocator?: Allocator; initialize?: boolean } = {}): void {
    if (this.isBuilt) return;
    if (this.layers.length === 0) throw new Error(`${this.name}: add at least one layer before building`);
    let shape = inputShape ? [...inputShape] : this.declaredInputShape;
    if (!shape) {
      throw new Error(`${this.name}: the first layer needs an inputShape (e.g. layers.dense({ units: 10, inputShape: [784] }))`);
    }
    this.layers.forEach((layer, i) => {
      layer.build(shape!);
      if (layer instanceof Dropout) layer.setSalt(i);
      shape = layer.outputShape!;
    });
    const weights = this.layers.flatMap((l) => l.weights);
    let offset = 0;
    this.slots = weights.map((w) => {
      const slot = { name: w.name, shape: w.shape, offset, size: w.size };
      offset += w.size;
      return slot;
    });
    const allocator = options.allocator ?? heapAllocator;
    const [params, grads] = withAllocator(allocator, () => [allocFloat32(offset), allocFloat32(offset)]);
    this.bindParameters(params!, grads!);
    if (options.initialize !== false) {
      const rng = getGlobalRandom();
      for (const w of weights) initialize(w.initializer, w.value, w.shape, rng);
    }
    this.isBuilt = true;
  }

  /** Points every weight's value and gradient at `params`/`grads` (e.g. shared memory in a worker). */
  bindParameters(params: Float32Array, grads: Float32Array): void {
    const total = this.slots.reduce((p, s) => p + s.size, 0);
    if (params.length !== total || grads.length !== total) {
      throw new RangeError(`${this.name}.bindParameters: expected ${total} values, got params ${params.length} and grads ${grads.length}`);
    }
    this.params = params;
    this.grads = grads;
    const weights: WeightSpec[] = this.layers.flatMap((l) => l.weights);
    weights.forEach((w, i) => {
      const s = this.slots[i]!;
      w.value = params.subarray(s.offset, s.offset + s.size);
      w.grad = grads.subarray(s.offset, s.offset + s.size);
    });
  }

  /** Copies of the weights in layer order (kernel, then bias), as Keras's `get_weights`. */
  getWeights(): Tensor[] {
    this.checkBuilt();
    return this.slots.map((s) => new Tensor(this.params.slice(s.offset, s.offset + s.size), s.shape));
  }

  /** Replaces the weights; takes the list `getWeights` returns. */
  setWeights(weights: readonly Tensor[]): void {
    this.checkBuilt();
    if (!Array.isArray(weights) || weights.length !== this.slots.length) {
      throw new RangeError(`${this.name}.setWeights: expected ${this.slots.length} tensors, got ${Array.isArray(weights) ? weights.length : typeof weights}`);
    }
    weights.forEach((w, i) => {
      const s = this.slots[i]!;
      if (!(w instanceof Tensor) || w.shape.join() !== s.shape.join()) {
        throw new RangeError(`${this.name}.setWeights: weight ${i} (${s.name}) must have shape ${formatShape(s.shape)}, got ${w instanceof Tensor ? formatShape(w.shape) : typeof w}`);
      }
    });
    weights.forEach((w, i) => this.params.set(w.data, this.slots[i]!.offset));
  }

  /** Keras's summary table: layer, output shape, parameter count. */
  summary(): string {
    this.checkBuilt();
    const rows = this.layers.map((l) => [`${l.name} (${l.className})`, `(None, ${l.outputShape!.join(', ')})`, String(l.paramCount)]);
    const head = ['Layer (type)', 'Output Shape', 'Param #'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('').trimEnd();
    const rule = (ch: string) => ch.repeat(widths.reduce((p, w) => p + w, 0));
    const total = this.countParams();
    const frozen = this.layers.reduce((p, l) => p + l.weights.reduce((q, w) => q + (w.trainable ? 0 : w.size), 0), 0);
    return [
      `Model: "${this.name}"`, rule('_'), line(head), rule('='),
      ...rows.flatMap((r, i) => [line(r), i < rows.length - 1 ? rule('_') : rule('=')]),
      `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${(total - frozen).toLocaleString('en-US')}`,
      `Non-trainable params: ${frozen.toLocaleString('en-US')}`, rule('_'),
    ].join('\n');
  }

  getConfig(): SequentialConfig {
    return { name: this.name, layers: this.layers.map(serializeLayer) };
  }

  /** Rebuilds the layers from a config (weights are not part of it). */
  static fromConfig<T extends Sequential>(this: new (layers: Layer[], options: { name?: string }) => T, config: SequentialConfig): T {
    if (!config || !Array.isArray(config.layers)) throw new TypeError('Sequential.fromConfig: config.layers must be an array');
    return new this(config.layers.map(deserializeLayer), { name: config.name });
  }

  /**
   * Allocates every per-step buffer (each layer's and the output gradient) for `rows` samples
   * from the current allocator, so a step allocates nothing and, under the wasm allocator,
   * every kernel operand lives in wasm memory.
   */
  allocateBuffers(rows: number): void {
    this.checkBuilt();
    for (const l of this.layers) l.reallocate(rows);
    this.outGrad = allocFloat32(rows * this.outputSize);
  }

  /** Every layer's step buffers, whole-batch, in layer order (for other threads to adopt). */
  stepBuffers(): Float32Array[][] {
    return this.layers.map((l) => [...l.stepBuffers]);
  }

  /**
   * Uses another replica's step buffers (`stepBuffers()`, e.g. on shared memory) for `rows`
   * samples, so every worker's layers read and write the same activations and gradients; the
   * output gradient of its own rows stays private (from the current allocator).
   */
  adoptStepBuffers(buffers: readonly (readonly Float32Array[])[], rows: number): void {
    this.checkBuilt();
    if (buffers.length !== this.layers.length) throw new RangeError(`${this.name}.adoptStepBuffers: expected ${this.layers.length} layers of buffers, got ${buffers.length}`);
    this.layers.forEach((l, i) => l.adoptBuffers(buffers[i]!, rows));
    this.outGrad = allocFloat32(rows * this.outputSize);
  }

  /** Makes the step work on rows from `from` on of every layer's buffers (a worker's shard). */
  setWindow(from: number): void {
    for (let i = 0, n = this.layers.length; i < n; i++) this.layers[i]!.setWindow(from);
  }

  /** Forward pass over `rows` samples of flat input; returns the last layer's buffer. */
  forward(x: Float32Array, rows: number, info: StepInfo): Float32Array {
    this.checkBuilt();
    let h = x;
    // An index loop: for…of would allocate an iterator every step.
    for (let i = 0, n = this.layers.length; i < n; i++) {
      const layer = this.layers[i]!;
      // A training forward outside the row stage has one party: its rows are the batch.
      if (info.training && layer.batchSyncs > 0) layer.gatherRowStats('forward', h, rows);
      h = layer.forward(h, rows, info);
    }
    return h;
  }

  /**
   * One training step on a whole batch: forward, loss, backward. Overwrites `grads` with the
   * gradient of (sum of the batch's losses) · gradScale (1 / rows: the batch mean), and adds the
   * loss sum and each metric sum into `stats` at [statsOffset, statsOffset + 1 + metrics.length).
   * The threaded step runs the same three stages, split between workers.
   */
  trainStep(
    x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel, metrics: readonly MetricKernel[],
    gradScale: number, info: StepInfo, stats: Float64Array, statsOffset = 0,
  ): void {
    this.setWindow(0);
    info.rowOffset = 0;
    this.backwardRows(x, labels, rows, loss, gradScale, info);
    this.weightGradients(x, rows, 0, 1, info.training);
    this.batchStats(x, labels, rows, loss, metrics, stats, statsOffset, info.training);
  }

  /**
   * The row-local stage of a training step, on `rows` rows starting at batch row
   * `info.rowOffset` (a worker's shard; `setWindow(info.rowOffset)` first): forward, the loss
   * gradient scaled by `gradScale`, and backward through every layer to its output gradient,
   * which stays in the layer's step buffers. `x` and `labels` start at the shard's first row.
   * No weight gradient yet: that needs every shard's rows (`weightGradients`). One party
   * alone (the whole batch in its window) runs straight through the layers' batch syncs.
   */
  backwardRows(x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel, gradScale: number, info: StepInfo): void {
    if (this.beginRows(x, labels, rows, loss, gradScale, info)) return;
    while (!this.resumeRows()) {
      // every party is this one: nothing to wait for
    }
  }

  /**
   * `backwardRows` for one of several workers: runs until a layer needs every worker's rows
   * (`Layer.batchSyncs`) and returns false; once every worker got there, `resumeRows` goes on.
   * True when the stage is done. Every worker stops at the same points, as many times as the
   * layers' `batchSyncs` add up to, whatever its rows (none included).
   */
  beginRows(x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel, gradScale: number, info: StepInfo): boolean {
    this.checkBuilt();
    const c = this.cursor;
    c.backward = false;
    c.layer = 0;
    c.gathered = false;
    c.h = x;
    c.dy = null;
    c.labels = labels;
    c.rows = rows;
    c.loss = loss;
    c.gradScale = gradScale;
    c.info = info;
    return this.runRows();
  }

  /**
   * At a batch sync (`beginRows`/`resumeRows` returned false): the buffer of row statistics the
   * waiting layer gathered, for an engine that must add other processes' rows to it.
   */
  pendingBatchStats(): BatchStatsBuffer {
    const c = this.cursor, layer = this.layers[c.layer];
    const stats = c.gathered && layer ? layer.batchStatsBuffer(c.backward ? 'backward' : 'forward') : null;
    if (!stats) throw new Error(`${this.name}.pendingBatchStats: the row stage is not stopped at a batch sync`);
    return stats;
  }

  /** Goes on with the row stage after a batch sync; true when it is done. */
  resumeRows(): boolean {
    return this.runRows();
  }

  private runRows(): boolean {
    const c = this.cursor, layers = this.layers, n = layers.length, rows = c.rows;
    if (!c.backward) {
      for (; c.layer < n; c.layer++) {
        const layer = layers[c.layer]!;
        if (layer.batchSyncs > 0 && !c.gathered) {
          layer.gatherRowStats('forward', c.h, rows);
          c.gathered = true;
          return false;
        }
        c.gathered = false;
        c.h = layer.forward(c.h, rows, c.info!);
      }
      const out = c.h, cols = this.outputSize, loss = c.loss!;
      if (this.outGrad.length < rows * cols) this.outGrad = allocFloat32(rows * cols);
      const dOut = this.outGrad;
      c.fused = loss.fusedActivation !== undefined && layers[n - 1]!.outputActivation === loss.fusedActivation;
      if (c.fused) loss.preActivationGrad!(out, c.labels, rows, cols, dOut, c.gradScale);
      else loss.compute(out, c.labels, rows, cols, dOut, c.gradScale);
      c.dy = dOut;
      c.backward = true;
      c.layer = n - 1;
    }
    for (; c.layer >= 0 && c.dy; c.layer--) {
      const layer = layers[c.layer]!;
      if (layer.batchSyncs > 0 && !c.gathered) {
        layer.gatherRowStats('backward', c.dy, rows);
        c.gathered = true;
        return false;
      }
      c.gathered = false;
      c.dy = layer.backward(c.dy, rows, c.layer > 0, c.layer === n - 1 && c.fused);
    }
    return true;
  }

  /** Where the row stage is (`beginRows`/`resumeRows`): one object, reused every step. */
  private readonly cursor: RowCursor = {
    backward: false, layer: 0, gathered: false, fused: false, h: new Float32Array(0), dy: null, labels: new Float32Array(0),
    rows: 0, loss: null, gradScale: 1, info: null,
  };

  /**
   * The number of batch syncs in a training step's row stage (the layers' `batchSyncs`): what
   * every worker of a threaded step waits at.
   */
  get batchSyncs(): number {
    return this.layers.reduce((p, l) => p + l.batchSyncs, 0);
  }

  /** The state layers keep besides trainable weights, part `part` of `parts` (after the step's update). */
  updateState(part: number, parts: number): void {
    for (let i = 0, n = this.layers.length; i < n; i++) this.layers[i]!.updateState(part, parts);
  }

  /**
   * Part `part` of `parts` of every weight's gradient (`weightChunkStart` cuts each along its
   * first axis), summed over all `rows` rows of the batch whose input `x` (from row 0) and
   * output gradients every shard's `backwardRows` left in the shared step buffers. The parts
   * of any split give the bits of `parts = 1`.
   */
  weightGradients(x: Float32Array, rows: number, part: number, parts: number, training = true): void {
    let input = x;
    for (let i = 0, n = this.layers.length; i < n; i++) {
      const layer = this.layers[i]!;
      layer.weightGradients(input, rows, part, parts);
      input = layer.wholeOutput(input, training);
    }
  }

  /**
   * The loss and metric sums of the whole `rows`-row batch from the outputs its last training
   * forward left in the step buffers (`x` and `labels` from row 0), added into `stats`. One
   * party computes them over every row in order, so History has the same bits for any split.
   */
  batchStats(
    x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel, metrics: readonly MetricKernel[],
    stats: Float64Array, statsOffset = 0, training = true,
  ): void {
    let out = x;
    for (let i = 0, n = this.layers.length; i < n; i++) out = this.layers[i]!.wholeOutput(out, training);
    const cols = this.outputSize;
    stats[statsOffset] += loss.compute(out, labels, rows, cols, null, 0);
    for (let m = 0; m < metrics.length; m++) stats[statsOffset + 1 + m] += metrics[m]!.compute(out, labels, rows, cols);
  }

  /**
   * The flat parameter ranges of part `part` of `parts` (what `weightGradients` computes for
   * it), as [from, to) pairs: the ranges its owner updates.
   */
  weightChunks(part: number, parts: number): number[] {
    const ranges: number[] = [];
    this.layers.flatMap((l) => l.weights).forEach((w, i) => {
      const s = this.slots[i]!;
      if (!w.trainable) return;
      const from = s.offset + weightChunkStart(w, parts, part), to = s.offset + weightChunkStart(w, parts, part + 1);
      if (to > from) ranges.push(from, to);
    });
    return ranges;
  }

  /** Inference on a shard: adds the loss sum and metric sums into `stats` like `trainStep`. */
  evaluateStep(
    x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel, metrics: readonly MetricKernel[],
    info: StepInfo, stats: Float64Array, statsOffset = 0,
  ): void {
    const out = this.forward(x, rows, info);
    const cols = this.outputSize;
    stats[statsOffset] += loss.compute(out, labels, rows, cols, null, 0);
    for (let m = 0; m < metrics.length; m++) stats[statsOffset + 1 + m] += metrics[m]!.compute(out, labels, rows, cols);
  }

  /** Builds on first use when the first layer declares its inputShape, as Keras does. */
  private checkBuilt(): void {
    if (this.isBuilt) return;
    if (this.declaredInputShape && this.layers.length > 0) {
      this.build();
      return;
    }
    throw new Error(`${this.name} is not built yet: give the first layer an inputShape, or call build(inputShape)`);
  }
}
