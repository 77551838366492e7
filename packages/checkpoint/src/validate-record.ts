import { CheckpointError } from './errors.js';
import type { CheckpointRecord } from './records.js';

/**
 * Checks a record before it is encoded, so a bad record fails at save time with a message that
 * names the field, instead of producing a file that fails to load (or loads wrong) later.
 */
export function validateRecord(rec: CheckpointRecord): void {
  const fail = (message: string): never => {
    throw new CheckpointError('invalid', `cannot encode checkpoint: ${message}`);
  };
  const count = (v: unknown, what: string): void => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      fail(`${what} must be a non-negative integer, got ${String(v)}`);
    }
  };
  const number = (v: unknown, what: string): void => {
    if (typeof v !== 'number') fail(`${what} must be a number, got ${typeof v}`);
  };
  const object = (v: unknown, what: string): void => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} must be a plain object`);
  };
  const string = (v: unknown, what: string): void => {
    if (typeof v !== 'string') fail(`${what} must be a string, got ${typeof v}`);
  };
  const floats = (v: unknown, what: string): void => {
    if (!(v instanceof Float32Array)) fail(`${what} must be a Float32Array`);
  };

  object(rec, 'the record');
  object(rec.model, 'model');
  string(rec.model.className, 'model.className');
  if (!Array.isArray(rec.model.layers)) fail('model.layers must be an array');
  rec.model.layers.forEach((layer, i) => {
    string(layer?.className, `model.layers[${i}].className`);
    object(layer.config, `model.layers[${i}].config`);
  });
  if (rec.model.compile !== undefined) object(rec.model.compile, 'model.compile');

  if (!Array.isArray(rec.weights)) fail('weights must be an array');
  rec.weights.forEach((w, i) => {
    const what = `weights[${i}]`;
    object(w, what);
    string(w.name, `${what}.name`);
    if (!Array.isArray(w.shape)) fail(`${what} "${w.name}": shape must be an array`);
    let size = 1;
    w.shape.forEach((d, k) => {
      count(d, `${what} "${w.name}": shape[${k}]`);
      size *= d;
    });
    floats(w.data, `${what} "${w.name}": data`);
    if (w.data.length !== size) {
      fail(`${what} "${w.name}": data has ${w.data.length} elements, shape [${w.shape.join(', ')}] needs ${size}`);
    }
  });

  const opt = rec.optimizer;
  if (opt !== undefined) {
    object(opt, 'optimizer');
    string(opt.name, 'optimizer.name');
    object(opt.config, 'optimizer.config');
    count(opt.iterations, 'optimizer.iterations');
    if (!Array.isArray(opt.slots)) fail('optimizer.slots must be an array');
    opt.slots.forEach((slot, i) => {
      string(slot?.name, `optimizer.slots[${i}].name`);
      if (!Array.isArray(slot.values)) fail(`optimizer.slots[${i}] "${slot.name}": values must be an array`);
      slot.values.forEach((v, k) => floats(v, `optimizer.slots[${i}] "${slot.name}": values[${k}]`));
    });
  }

  const p = rec.progress;
  if (p !== undefined) {
    object(p, 'progress');
    count(p.epoch, 'progress.epoch');
    count(p.step, 'progress.step');
    count(p.globalStep, 'progress.globalStep');
    number(p.seed, 'progress.seed');
    object(p.rngState, 'progress.rngState');
    number(p.rngState.seed, 'progress.rngState.seed');
    count(p.rngState.counter, 'progress.rngState.counter');
  }

  const h = rec.history;
  if (h !== undefined) {
    object(h, 'history');
    if (!Array.isArray(h.epochs)) fail('history.epochs must be an array');
    h.epochs.forEach((e, i) => count(e, `history.epochs[${i}]`));
    object(h.metrics, 'history.metrics');
    for (const [name, values] of Object.entries(h.metrics)) {
      if (!Array.isArray(values)) fail(`history.metrics["${name}"] must be an array of numbers`);
      values.forEach((v, i) => number(v, `history.metrics["${name}"][${i}]`));
    }
  }

  const s = rec.inputScaling;
  if (s !== undefined) {
    object(s, 'inputScaling');
    string(s.method, 'inputScaling.method');
    if (!Array.isArray(s.offset) || !Array.isArray(s.scale)) fail('inputScaling.offset and inputScaling.scale must be arrays of numbers');
    if (s.offset.length !== s.scale.length) {
      fail(`inputScaling has ${s.offset.length} offsets but ${s.scale.length} scales: one of each per input feature`);
    }
    s.offset.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`inputScaling.offset[${i}] must be a finite number, got ${String(v)}`);
    });
    s.scale.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v === 0) fail(`inputScaling.scale[${i}] must be a finite non-zero number, got ${String(v)}`);
    });
  }

  if (rec.metadata !== undefined) {
    object(rec.metadata, 'metadata');
    for (const [key, value] of Object.entries(rec.metadata)) string(value, `metadata["${key}"]`);
  }
}
