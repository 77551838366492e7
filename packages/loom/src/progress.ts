import cliProgress from 'cli-progress';
import { Callback, type Logs } from './callbacks.js';

function formatLogs(logs: Logs): string {
  return Object.entries(logs).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(' - ');
}

/**
 * Keras's progress output. On a TTY (verbose 1): a live bar per epoch with ETA, loss and
 * metrics, drawn by cli-progress. Otherwise (verbose 2, or not a TTY): one line per epoch.
 */
export class ProgressBar extends Callback {
  private bar: cliProgress.SingleBar | null = null;
  private epochStart = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;

  constructor(options: { verbose?: number; stream?: NodeJS.WriteStream } = {}) {
    super();
    this.stream = options.stream ?? process.stdout;
    this.live = (options.verbose ?? 1) === 1 && Boolean(this.stream.isTTY);
  }

  override onEpochBegin(epoch: number): void {
    this.epochStart = performance.now();
    if (!this.live) return;
    this.stream.write(`Epoch ${epoch + 1}/${this.params.epochs}\n`);
    this.bar = new cliProgress.SingleBar(
      { format: ' {bar} {value}/{total} | ETA: {eta_formatted} | {metrics}', stream: this.stream, hideCursor: true, etaBuffer: 50, fps: 10 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.params.steps, 0, { metrics: '' });
  }

  override onBatchEnd(batch: number, logs: Logs = {}): void {
    this.bar?.update(batch + 1, { metrics: formatLogs(logs) });
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const seconds = (performance.now() - this.epochStart) / 1000;
    if (this.bar) {
      this.bar.update(this.params.steps, { metrics: formatLogs(logs) });
      this.bar.stop();
      this.bar = null;
      this.stream.write(` ${seconds.toFixed(1)}s - ${formatLogs(logs)}\n`);
      return;
    }
    this.stream.write(`Epoch ${epoch + 1}/${this.params.epochs} - ${seconds.toFixed(1)}s - ${formatLogs(logs)}\n`);
  }

  override onTrainEnd(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
