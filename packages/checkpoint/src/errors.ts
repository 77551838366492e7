/** What went wrong with a checkpoint; each kind needs a different fix from the user. */
export type CheckpointErrorKind =
  | 'missing'
  | 'truncated'
  | 'corrupted'
  | 'not-a-checkpoint'
  | 'unsupported-version'
  | 'invalid';

/**
 * The one error this package throws about checkpoint contents. `kind` says which failure it is,
 * so callers can branch without parsing the message (e.g. fall back to an older checkpoint on
 * `truncated` or `corrupted`); `path` is the file, when there is one.
 */
export class CheckpointError extends Error {
  readonly kind: CheckpointErrorKind;
  readonly path?: string;

  constructor(kind: CheckpointErrorKind, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CheckpointError';
    this.kind = kind;
    if (options?.path !== undefined) this.path = options.path;
  }
}

/** Where a message says the bytes came from: the file name, or a neutral word for a buffer. */
export function describeSource(source: string | undefined): string {
  return source ?? 'checkpoint buffer';
}
