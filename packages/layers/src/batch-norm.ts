import { batchNormGradStats, batchNormInputGrad, batchNormNormalize, batchNormRowStats, formatShape } from '@loom/tensor';
import type { Identified } from './identifiers.js';
import { initializerOption } from './initializers.js';
import { Layer, weightChunkStart, type BatchStatsBuffer, type LayerConfig, type StepInfo, type WeightSpec } from './layer.js';

export interface BatchNormalizationConfig extends LayerConfig {
  /** Only the last (channel) axis, Keras's default: -1. */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: string | Identified;
  gammaInitializer?: string | Identified;
  movingMeanInitializer?: string | Identified;
  movingVarianceInitializer?: string | Identified;
  inputShape?: number[];
}

const FORWARD_STATS = 2, GRAD_STATS = 3;

/**
 * Keras's `BatchNormalization` over the last axis: y = γ·(x − μ)/√(σ² + ε) + β, with μ and σ² the
 * statistics of the **whole** batch in training (every worker's rows, so W workers give the bits
 * of one: SyncBatchNorm without asking) and the moving averages at inference. Weights in Keras's
 * order: gamma, beta (trainable), moving_mean, moving_variance (state the layer updates itself:
 * moving = moving·momentum + batch·(1 − momentum), with the biased batch variance as Keras 3).
 *
 * Each worker first writes, per row of its shard and channel, the row's mean and sum of squared
 * deviations (backward: Σ dy and Σ dy·x̂); after every worker's rows are in (`batchSyncs`), every
 * worker combines all rows in row order, in float64, into the same statistics. The per-row
 * loops are @loom/tensor's batch-norm kernels, which run in wasm when the step buffers live in
 * its memory and give the JavaScript loops' bits either way.
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: string;
  readonly gammaInitializer: string;
  readonly movingMeanInitializer: string;
  readonly movingVarianceInitializer: string;
  readonly declaredInputShape?: number[];
  private channels = 0;
  /** Values per channel in one sample (h·w for an image; 1 for a vector). */
  private positions = 0;
  private gamma: WeightSpec | null = null;
  private beta: WeightSpec | null = null;
  private movingMean!: WeightSpec;
  private movingVariance!: WeightSpec;
  private xhat: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private rowStats: Float32Array = new Float32Array(0);
  private gradStats: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);
  // This replica's copy of the step's statistics (every worker computes the same bits).
  private mean = new Float64Array(0);
  private variance = new Float64Array(0);
  private invStd = new Float64Array(0);
  private sumDy = new Float64Array(0);
  private sumDyXhat = new Float64Array(0);
  /** Batch rows of the last training forward: the backward combines as many. */
  private batchRows = 0;
  /** This process's rows within the batch (across processes): its share of γ's and β's gradient. */
  private shareFrom = 0;
  private shareRows = 0;
  private readonly statsViews: Record<'forward' | 'backward', BatchStatsBuffer> = {
    forward: { data: new Float32Array(0), width: 0 }, backward: { data: new Float32Array(0), width: 0 },
  };

  constructor(config: BatchNormalizationConfig = {}) {
    super(config);
    if (config === null || typeof config !== 'object') throw new TypeError('batchNormalization: config must be an object');
    const what = `batchNormalization ${this.name}`;
    if (config.axis !== undefined && config.axis !== -1) throw new RangeError(`${what}: axis must be -1 (the channels, last), got ${String(config.axis)}`);
    this.momentum = config.momentum ?? 0.99;
    this.epsilon = config.epsilon ?? 1e-3;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) throw new RangeError(`${what}: momentum must be a number in [0, 1], got ${String(config.momentum)}`);
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0)) throw new RangeError(`${what}: epsilon must be a positive number, got ${String(config.epsilon)}`);
    this.center = config.center ?? true;
    this.scale = config.scale ?? true;
    const init = (v: string | Identified | undefined, fallback: string, option: string) => initializerOption(v, fallback, `${option} of ${this.name}`);
    this.betaInitializer = init(config.betaInitializer, 'zeros', 'betaInitializer');
    this.gammaInitializer = init(config.gammaInitializer, 'ones', 'gammaInitializer');
    this.movingMeanInitializer = init(config.movingMeanInitializer, 'zeros', 'movingMeanInitializer');
    this.movingVarianceInitializer = init(config.movingVarianceInitializer, 'ones', 'movingVarianceInitializer');
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length === 0) throw new RangeError(`batchNormalization ${this.name}: needs an input with a channel axis, got ${formatShape([...inputShape])}`);
    return [...inputShape];
  }

  override build(inputShape: readonly number[]): void {
    super.build(inputShape);
    const c = inputShape[inputShape.length - 1]!;
    this.channels = c;
    this.positions = c === 0 ? 0 : this.inputSize / c;
    if (this.scale) this.gamma = this.addWeight('gamma', [c], this.gammaInitializer);
    if (this.center) this.beta = this.addWeight('beta', [c], this.betaInitializer);
    this.movingMean = this.addWeight('moving_mean', [c], this.movingMeanInitializer, false);
    this.movingVariance = this.addWeight('moving_variance', [c], this.movingVarianceInitializer, false);
    for (const k of ['mean', 'variance', 'invStd', 'sumDy', 'sumDyXhat'] as const) this[k] = new Float64Array(c);
  }

  override get batchSyncs(): number {
    return 2;
  }

  // Step buffers: x̂, y, per-row forward statistics [mean, M2] per channel, per-row gradient
  // statistics [Σ dy, Σ dy·x̂] per channel, dx.
  protected bufferWidths(): number[] {
    const n = this.inputSize, c = this.channels;
    return [n, n, 2 * c, 2 * c, n];
  }

  protected bindWindow([xhat, y, rowStats, gradStats, dx]: Float32Array[]): void {
    this.xhat = xhat!;
    this.y = y!;
    this.rowStats = rowStats!;
    this.gradStats = gradStats!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(1);
  }

  override gatherRowStats(pass: 'forward' | 'backward', data: Float32Array, rows: number): void {
    this.ensureCapacity(rows);
    if (pass === 'forward') batchNormRowStats(data, rows, this.positions, this.channels, this.rowStats);
    else batchNormGradStats(data, this.xhat, rows, this.positions, this.channels, this.gradStats);
  }

  /** μ and σ² of every row of the batch, combined in row order (Chan et al.: equal counts per row). */
  private combineForward(batchRows: number): void {
    const c = this.channels, p = this.positions, stats = this.wholeBuffer(FORWARD_STATS);
    const mean = this.mean, variance = this.variance, invStd = this.invStd;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let r = 0; r < batchRows; r++) sum += stats[r * 2 * c + ch]!;
      const mu = batchRows === 0 ? 0 : sum / batchRows;
      let m2 = 0;
      for (let r = 0; r < batchRows; r++) {
        const d = stats[r * 2 * c + ch]! - mu;
        m2 += stats[r * 2 * c + c + ch]! + p * d * d;
      }
      mean[ch] = mu;
      variance[ch] = batchRows * p === 0 ? 0 : m2 / (batchRows * p);
      invStd[ch] = 1 / Math.sqrt(variance[ch]! + this.epsilon);
    }
  }

  forward(x: Float32Array, rows: number, info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    const c = this.channels;
    if (info.training) {
      this.batchRows = info.batchRows ?? rows;
      this.shareFrom = info.shareFrom ?? 0;
      this.shareRows = info.shareRows ?? this.batchRows;
      this.combineForward(this.batchRows);
    } else {
      const mm = this.movingMean.value, mv = this.movingVariance.value;
      for (let ch = 0; ch < c; ch++) {
        this.mean[ch] = mm[ch]!;
        this.invStd[ch] = 1 / Math.sqrt(mv[ch]! + this.epsilon);
      }
    }
    batchNormNormalize(x, rows, this.positions, c, this.mean, this.invStd, this.gamma?.value ?? null, this.beta?.value ?? null, this.xhat, this.y);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean): Float32Array | null {
    const c = this.channels, batchRows = this.batchRows, stats = this.wholeBuffer(GRAD_STATS);
    const s1 = this.sumDy, s2 = this.sumDyXhat;
    for (let ch = 0; ch < c; ch++) {
      let a = 0, b = 0;
      for (let r = 0; r < batchRows; r++) {
        a += stats[r * 2 * c + ch]!;
        b += stats[r * 2 * c + c + ch]!;
      }
      s1[ch] = a;
      s2[ch] = b;
    }
    if (!needInputGrad) return null;
    // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), the means over the whole batch's N values.
    batchNormInputGrad(dy, this.xhat, rows, this.positions, c, this.gamma?.value ?? null, this.invStd, s1, s2, batchRows * this.positions, this.dx);
    return this.dx;
  }

  override batchStatsBuffer(pass: 'forward' | 'backward'): BatchStatsBuffer {
    const view = this.statsViews[pass];
    view.data = this.wholeBuffer(pass === 'forward' ? FORWARD_STATS : GRAD_STATS);
    view.width = 2 * this.channels;
    return view;
  }

  /**
   * dγ = Σ dy·x̂ and dβ = Σ dy over this process's rows of the batch, in row order, in float64
   * (in one process every row: the sums the backward used).
   */
  override weightGradients(_input: Float32Array, _rows: number, part: number, parts: number): void {
    const any = this.gamma ?? this.beta;
    if (!any) return;
    const c = this.channels, stats = this.wholeBuffer(GRAD_STATS), r0 = this.shareFrom, r1 = this.shareFrom + this.shareRows;
    const c0 = weightChunkStart(any, parts, part), c1 = weightChunkStart(any, parts, part + 1);
    for (let ch = c0; ch < c1; ch++) {
      let a = 0, b = 0;
      for (let r = r0; r < r1; r++) {
        a += stats[r * 2 * c + ch]!;
        b += stats[r * 2 * c + c + ch]!;
      }
      if (this.gamma) this.gamma.grad[ch] = b;
      if (this.beta) this.beta.grad[ch] = a;
    }
  }

  override updateState(part: number, parts: number): void {
    const m = this.momentum, mm = this.movingMean.value, mv = this.movingVariance.value;
    const c0 = weightChunkStart(this.movingMean, parts, part), c1 = weightChunkStart(this.movingMean, parts, part + 1);
    for (let ch = c0; ch < c1; ch++) {
      mm[ch] = mm[ch]! * m + this.mean[ch]! * (1 - m);
      mv[ch] = mv[ch]! * m + this.variance[ch]! * (1 - m);
    }
  }

  override getConfig(): BatchNormalizationConfig {
    const c: BatchNormalizationConfig = {
      name: this.name, axis: -1, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale,
      betaInitializer: this.betaInitializer, gammaInitializer: this.gammaInitializer,
      movingMeanInitializer: this.movingMeanInitializer, movingVarianceInitializer: this.movingVarianceInitializer,
    };
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
