/**
 * What went wrong reading or writing an interchange file; each kind needs a different fix.
 * - `missing`: the path does not exist.
 * - `invalid-json`: `model.json` is not JSON.
 * - `invalid`: JSON, but not a model this package understands (a field of the wrong type,
 *   a shard path that leaves the model's folder, a weight the model does not have).
 * - `unsupported-layer`: a layer class the format (or Loom) has no mapping for; the message
 *   lists the supported ones.
 * - `unsupported`: a supported layer with a setting the other side cannot express (an
 *   activation, a regularizer, a dtype); the message names it.
 * - `shape-mismatch`: a weight whose shape does not fit its layer.
 * - `too-large`: a count or size beyond the caps, refused before anything is allocated.
 * - `missing-shard`: a weight file named by the manifest cannot be read.
 * - `truncated-shard`: a weight file shorter than the manifest says.
 */
export type InteropErrorKind =
  | 'missing'
  | 'invalid-json'
  | 'invalid'
  | 'unsupported-layer'
  | 'unsupported'
  | 'shape-mismatch'
  | 'too-large'
  | 'missing-shard'
  | 'truncated-shard';

/** The one error `@loom/interop` throws about a model or file; `kind` lets callers branch without parsing the message. */
export class InteropError extends Error {
  readonly kind: InteropErrorKind;
  readonly path?: string;

  constructor(kind: InteropErrorKind, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InteropError';
    this.kind = kind;
    if (options?.path !== undefined) this.path = options.path;
  }
}
