import type { BatchShare, GradientGroup } from './engine.js';

/**
 * A step's exchange between processes, between the chunk stage's gradient and its update: the
 * all-reduce of the whole gradient (every element was written by this process's workers), then
 * the batch's loss and metric sums with one stop vote, summed in rank order so that every rank
 * gets the same History bits and the same decision to stop.
 */
export class GroupExchange {
  private readonly sums: Float64Array;

  constructor(
    private readonly group: GradientGroup,
    private readonly grads: Float32Array,
    private readonly stats: Float64Array,
  ) {
    this.sums = new Float64Array(stats.length + 1);
  }

  /** A rank whose share of a small last batch is empty adds nothing to the sums. */
  noRows(): void {
    this.grads.fill(0);
    this.stats.fill(0);
  }

  /**
   * A batch sync across processes: this process's `rows` rows of statistics (at the start of
   * `data`, `width` values each) move to their place in the global batch, `firstRow` on, the
   * other rows become zeros, and the all-reduce fills them with every process's rows, so every
   * rank holds the global batch's rows in its order (adding zeros is exact).
   */
  async syncBatchStats(data: Float32Array, width: number, rows: number, firstRow: number, batchRows: number): Promise<void> {
    data.copyWithin(firstRow * width, 0, rows * width);
    data.fill(0, 0, firstRow * width);
    data.fill(0, (firstRow + rows) * width, batchRows * width);
    await this.group.allReduce(data.subarray(0, batchRows * width));
  }

  /** Resolves to whether any rank voted to stop; the gradient and `stats` then hold the group's sums. */
  async reduce(stop: boolean): Promise<boolean> {
    const sums = this.sums, stats = this.stats, w = stats.length;
    sums.set(stats);
    sums[w] = stop ? 1 : 0;
    await this.group.allReduce(this.grads);
    await this.group.sumInRankOrder(sums);
    for (let i = 0; i < w; i++) stats[i] = sums[i]!;
    return sums[w]! > 0;
  }
}

/** The share a step of a distributed engine needs, checked against its rows. */
export function checkShare(share: BatchShare | undefined, rows: number): BatchShare {
  if (!share) throw new TypeError('trainStep: an engine with a process group needs the batch share (batchRows, firstRow, stop)');
  if (!(share.firstRow >= 0 && share.firstRow + rows <= share.batchRows)) {
    throw new RangeError(`trainStep: rows ${share.firstRow}..${share.firstRow + rows} do not lie in a global batch of ${share.batchRows}`);
  }
  return share;
}
