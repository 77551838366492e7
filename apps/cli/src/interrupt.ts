/**
 * Ctrl-C around `fit`. While training runs, ModelCheckpoint owns the first SIGINT/SIGTERM (it
 * stops after the current batch and saves); this guard only tells the user what is happening and
 * makes a second Ctrl-C quit at once. Before training starts or after it ends there is nothing
 * to save, so a signal exits straight away with the shell's code (130 for SIGINT).
 */
import { Callback } from '@loom/loom';
import { signalExitCode } from './errors.js';

type Stage = 'setup' | 'training' | 'done';

/** Longest stretch of training without a turn of the event loop (so a signal is seen within it). */
const YIELD_MS = 100;

export class InterruptGuard extends Callback {
  private stage: Stage = 'setup';
  private signals = 0;
  private lastYield = 0;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.signals++;
    if (this.stage === 'training' && this.signals === 1) {
      process.stderr.write(`\nloom: ${signal}: stopping after the current batch to save a checkpoint (press Ctrl-C again to quit without saving)\n`);
      return;
    }
    // Checkpoints are written to a temporary file and renamed, so quitting here never leaves a damaged one.
    process.stderr.write(`\nloom: interrupted (${signal})${this.stage === 'setup' ? ' before training started; nothing saved' : ''}\n`);
    process.exit(signalExitCode(signal));
  };

  /** Listens from now on: a signal during data loading or model building must not kill the process silently. */
  install(): this {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    return this;
  }

  uninstall(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  // Listed after ModelCheckpoint in fit's callbacks, so its signal handlers are in place by now.
  override onTrainBegin(): void {
    this.stage = 'training';
    this.lastYield = performance.now();
  }

  /**
   * Signal handlers run only between macrotasks. With one worker, fit's steps run in the main
   * thread and every await resolves at once, so without this Ctrl-C would wait for the epoch's
   * end (the checkpoint write is the first real I/O). A setImmediate turn every 100 ms is free.
   */
  override async onBatchEnd(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < YIELD_MS) return;
    this.lastYield = now;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Called once fit has returned (and ModelCheckpoint has saved). */
  finished(): void {
    this.stage = 'done';
  }
}
