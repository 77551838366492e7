/**
 * Exit codes and the one place that turns an error into what the user sees: a single
 * `loom: error: …` line on stderr, the stack only with `--verbose`.
 */
import { constants } from 'node:os';

/** Exit codes, as the README lists them. */
export const EXIT = {
  ok: 0,
  /** Something failed while running: a missing checkpoint, an unreadable file, a bad model. */
  runtime: 1,
  /** The command line itself is wrong: unknown option, bad number, missing argument. */
  usage: 2,
  /** Ctrl-C: 128 + SIGINT, as shells report it. */
  interrupted: 128 + constants.signals.SIGINT,
} as const;

/** The shell's exit code for a process stopped by `signal` (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? constants.signals.SIGINT);
}

/** A mistake on the command line that the parser could not see (e.g. two options that conflict). */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Collapses a message to one line: the error output is one line per failure. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** "rank 1: " in a process of a group (torchrun's RANK with WORLD_SIZE > 1), so the launcher's mixed stderr says who failed. */
function rankPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return Number(env.WORLD_SIZE) > 1 && env.RANK !== undefined ? `rank ${env.RANK}: ` : '';
}

/**
 * Prints `err` for the user and returns the exit code: 2 for usage errors, 1 otherwise. The
 * stack trace (and the cause chain) only with `verbose`, for bug reports.
 */
export function reportError(err: unknown, verbose: boolean, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  const message = err instanceof Error ? err.message : String(err);
  write(`loom: error: ${rankPrefix()}${oneLine(message) || 'unknown error'}\n`);
  if (verbose) {
    let e: unknown = err;
    while (e instanceof Error) {
      write(`${e.stack ?? e.message}\n`);
      e = e.cause;
      if (e !== undefined) write('Caused by: ');
    }
  }
  return err instanceof UsageError ? EXIT.usage : EXIT.runtime;
}
