import { crc32 } from './crc32.js';
import { CheckpointError, describeSource } from './errors.js';
import { float32ToLeBytes, leBytesToFloat32 } from './float-bytes.js';
import { HEADER_SIZE, MAX_PAYLOAD_BYTES, parseHeader, writeHeader } from './header.js';
import { DTYPE_FLOAT32, createWriter, getCheckpointType, type CheckpointMessage, type Int64 } from './proto.js';
import { FORMAT_VERSION, type CheckpointRecord, type LayerRecord, type WeightRecord } from './records.js';
import { validateRecord } from './validate-record.js';

/**
 * Encodes a checkpoint as the bytes of a `.loom` file: the 20-byte header, then the protobuf
 * payload. Throws a `CheckpointError` of kind `invalid` if the record is malformed (a weight whose
 * data does not match its shape, a negative step count, ...).
 */
export function encodeCheckpoint(rec: CheckpointRecord): Uint8Array {
  validateRecord(rec);
  const message = toMessage(rec);
  const writer = createWriter();
  // Reserve the header inside the writer so finish() allocates the whole file once and the
  // payload (mostly weight bytes) is never copied a second time.
  for (let i = 0; i < HEADER_SIZE / 4; i++) writer.fixed32(0);
  getCheckpointType().encode(message, writer);
  const payloadLength = writer.len - HEADER_SIZE;
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new CheckpointError(
      'invalid',
      `cannot encode checkpoint: payload is ${payloadLength} bytes, format version ${FORMAT_VERSION} holds at most ${MAX_PAYLOAD_BYTES}`,
    );
  }
  const finished = writer.finish();
  // A plain Uint8Array view, not the Buffer protobufjs returns: Buffer#slice does not copy, and
  // callers of a function typed Uint8Array expect slice() to.
  const out = new Uint8Array(finished.buffer, finished.byteOffset, finished.byteLength);
  writeHeader(out, payloadLength, crc32(out.subarray(HEADER_SIZE)));
  return out;
}

/**
 * Decodes the bytes of a `.loom` file. `source` (usually the file name) goes into error messages.
 * Throws a `CheckpointError` whose `kind` says what is wrong: `not-a-checkpoint`, `truncated`,
 * `unsupported-version`, `corrupted` (checksum) or `invalid` (well-formed bytes, impossible
 * content). Float data is copied into fresh arrays, so the result does not pin `bytes`.
 */
export function decodeCheckpoint(bytes: Uint8Array, source?: string): CheckpointRecord {
  const header = parseHeader(bytes.subarray(0, HEADER_SIZE), bytes.length, source);
  const payload = bytes.subarray(HEADER_SIZE, HEADER_SIZE + header.payloadLength);
  const where = describeSource(source);
  if (crc32(payload) !== header.crc) {
    throw new CheckpointError('corrupted', `${where}: corrupted: checksum mismatch`, { path: source });
  }
  let message: CheckpointMessage;
  try {
    message = getCheckpointType().decode(payload) as unknown as CheckpointMessage;
  } catch (cause) {
    throw new CheckpointError('invalid', `${where}: invalid: the payload is not a valid checkpoint message (${errorText(cause)})`, {
      path: source,
      cause,
    });
  }
  if (message.formatVersion !== header.version) {
    throw new CheckpointError(
      'invalid',
      `${where}: invalid: header says format version ${header.version}, payload says ${message.formatVersion}`,
      { path: source },
    );
  }
  return fromMessage(message, where, source);
}

function toMessage(rec: CheckpointRecord): Record<string, unknown> {
  const message: Record<string, unknown> = {
    formatVersion: FORMAT_VERSION,
    model: {
      className: rec.model.className,
      layers: rec.model.layers.map((l) => ({ className: l.className, configJson: toJson(l.config, `layer "${l.className}" config`) })),
      compileJson: rec.model.compile === undefined ? '' : toJson(rec.model.compile, 'model.compile'),
    },
    weights: rec.weights.map((w) => ({
      name: w.name,
      shape: w.shape,
      dtype: DTYPE_FLOAT32,
      data: float32ToLeBytes(w.data),
    })),
    metadata: rec.metadata ?? {},
  };
  if (rec.optimizer) {
    const o = rec.optimizer;
    message.optimizer = {
      name: o.name,
      configJson: toJson(o.config, 'optimizer.config'),
      iterations: o.iterations,
      slots: o.slots.map((s) => ({ name: s.name, values: s.values.map(float32ToLeBytes) })),
    };
  }
  if (rec.progress) {
    const p = rec.progress;
    message.progress = {
      epoch: p.epoch,
      step: p.step,
      seed: p.seed,
      rngSeed: p.rngState.seed,
      rngCounter: p.rngState.counter,
      globalStep: p.globalStep,
    };
  }
  if (rec.inputScaling) {
    const s = rec.inputScaling;
    message.inputScaling = { method: s.method, offset: s.offset, scale: s.scale };
  }
  if (rec.history) {
    message.history = {
      epochs: rec.history.epochs,
      metrics: Object.entries(rec.history.metrics).map(([name, values]) => ({ name, values })),
    };
  }
  return message;
}

function toJson(value: Record<string, unknown>, what: string): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new CheckpointError('invalid', `cannot encode checkpoint: ${what} is not JSON-serializable (${errorText(cause)})`, { cause });
  }
}

/** Converts the decoded message to a record, rejecting content no writer of this format makes. */
function fromMessage(m: CheckpointMessage, where: string, source: string | undefined): CheckpointRecord {
  const fail = (message: string): never => {
    throw new CheckpointError('invalid', `${where}: invalid: ${message}`, { path: source });
  };
  const count = (v: Int64, what: string): number => {
    const n = typeof v === 'number' ? v : v.toNumber();
    if (!Number.isSafeInteger(n) || n < 0) fail(`${what} is ${n}, expected a non-negative integer below 2^53`);
    return n;
  };
  const parseObject = (json: string, what: string): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      fail(`${what} is not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  const floats = (bytes: Uint8Array, what: string): Float32Array => {
    if (bytes.length % 4 !== 0) fail(`${what} has ${bytes.length} bytes, not a whole number of float32s`);
    return leBytesToFloat32(bytes);
  };

  if (m.model === null || m.model === undefined) return fail('no model section');
  const layers: LayerRecord[] = m.model.layers.map((l, i) => ({
    className: l.className,
    config: parseObject(l.configJson, `layer ${i} ("${l.className}") config`),
  }));
  const model: CheckpointRecord['model'] = { className: m.model.className, layers };
  if (m.model.compileJson !== '') model.compile = parseObject(m.model.compileJson, 'compile config');

  const weights: WeightRecord[] = m.weights.map((w, i) => {
    const what = `weight ${i} ("${w.name}")`;
    if (w.dtype !== DTYPE_FLOAT32) fail(`${what} has dtype ${w.dtype}, this version reads only float32 (${DTYPE_FLOAT32})`);
    const shape = w.shape.map((d, k) => {
      const n = typeof d === 'number' ? d : d.toNumber();
      if (!Number.isSafeInteger(n) || n < 0) fail(`${what} has dimension ${k} = ${n}, expected a non-negative integer`);
      return n;
    });
    // The size is compared with bytes that already exist, so a hostile shape cannot make us allocate.
    const size = shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== size * 4) {
      fail(`${what} has ${w.data.length} bytes of data, shape [${shape.join(', ')}] needs ${size * 4}`);
    }
    return { name: w.name, shape, data: leBytesToFloat32(w.data) };
  });

  const rec: CheckpointRecord = { model, weights };
  if (m.optimizer) {
    const o = m.optimizer;
    rec.optimizer = {
      name: o.name,
      config: parseObject(o.configJson, 'optimizer config'),
      iterations: count(o.iterations, 'optimizer iterations'),
      slots: o.slots.map((s) => ({
        name: s.name,
        values: s.values.map((v, k) => floats(v, `optimizer slot "${s.name}" value ${k}`)),
      })),
    };
  }
  if (m.progress) {
    const p = m.progress;
    rec.progress = {
      epoch: count(p.epoch, 'progress epoch'),
      step: count(p.step, 'progress step'),
      seed: p.seed,
      rngState: { seed: p.rngSeed, counter: count(p.rngCounter, 'progress RNG counter') },
      globalStep: count(p.globalStep, 'progress global step'),
    };
  }
  if (m.history) {
    const metrics: Record<string, number[]> = {};
    for (const metric of m.history.metrics) {
      // defineProperty, not assignment: a metric named "__proto__" must stay a metric.
      Object.defineProperty(metrics, metric.name, {
        value: Array.from(metric.values),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    rec.history = { epochs: m.history.epochs.map((e, i) => count(e, `history epoch ${i}`)), metrics };
  }
  if (m.inputScaling) {
    const s = m.inputScaling;
    const offset = Array.from(s.offset), scale = Array.from(s.scale);
    if (offset.length !== scale.length) fail(`input scaling has ${offset.length} offsets but ${scale.length} scales`);
    const badOffset = offset.findIndex((v) => !Number.isFinite(v));
    if (badOffset !== -1) fail(`input scaling offset ${badOffset} is ${offset[badOffset]}, expected a finite number`);
    const badScale = scale.findIndex((v) => !Number.isFinite(v) || v === 0);
    if (badScale !== -1) fail(`input scaling scale ${badScale} is ${scale[badScale]}, expected a finite non-zero number`);
    rec.inputScaling = { method: s.method, offset, scale };
  }
  const metadataKeys = Object.keys(m.metadata ?? {});
  if (metadataKeys.length > 0) {
    const metadata: Record<string, string> = {};
    for (const key of metadataKeys) metadata[key] = m.metadata[key];
    rec.metadata = metadata;
  }
  return rec;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
