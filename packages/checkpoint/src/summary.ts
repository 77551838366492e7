import type { CheckpointRecord, LayerRecord } from './records.js';

// Config keys worth a column in `loom inspect`, in the order a reader looks for them.
const KEY_CONFIG = ['units', 'filters', 'kernelSize', 'poolSize', 'strides', 'padding', 'activation', 'rate', 'pieces', 'alpha', 'momentum', 'epsilon', 'inputShape', 'batchInputShape', 'targetShape'];
// Shown elsewhere (name) or noise in a summary.
const HIDDEN_CONFIG = new Set(['name', 'trainable', 'dtype']);
const MAX_CONFIG_CHARS = 72;

/**
 * A human-readable summary of a checkpoint, the text `loom inspect` prints: the layers with their
 * key config, each weight with its shape and parameter count, the total, the compile settings,
 * the optimizer, the training progress and the last value of each history metric.
 */
export function summarizeCheckpoint(rec: CheckpointRecord): string {
  const n = rec.model.layers.length;
  const lines: string[] = [`Model: ${rec.model.className} (${plural(n, 'layer')})`, ''];

  lines.push(
    ...table([
      ['#', 'Layer', 'Name', 'Config'],
      ...rec.model.layers.map((l, i) => [String(i), l.className, layerName(l), keyConfig(l)]),
    ]),
    '',
  );

  let total = 0;
  const weightRows = rec.weights.map((w) => {
    const params = w.shape.reduce((a, b) => a * b, 1);
    total += params;
    return [w.name, `[${w.shape.join(', ')}]`, count(params)];
  });
  lines.push(...table([['Weight', 'Shape', 'Params'], ...weightRows], [false, false, true]), '');
  lines.push(`Total params: ${count(total)}`);

  if (rec.model.compile !== undefined) lines.push(`Compile: ${formatEntries(Object.entries(rec.model.compile))}`);
  if (rec.optimizer !== undefined) {
    const o = rec.optimizer;
    const slots = o.slots.length === 0 ? 'no slots' : `slots ${o.slots.map((s) => s.name).join(', ')}`;
    lines.push(`Optimizer: ${o.name}, ${count(o.iterations)} iterations, ${slots}`);
    const config = formatEntries(Object.entries(o.config));
    if (config !== '') lines.push(`  config: ${config}`);
  } else {
    lines.push('Optimizer: none saved');
  }
  if (rec.progress !== undefined) {
    const p = rec.progress;
    lines.push(`Progress: epoch ${p.epoch}, step ${p.step}, global step ${p.globalStep}, seed ${p.seed}`);
  }
  if (rec.history !== undefined) {
    const { epochs, metrics } = rec.history;
    const last = Object.entries(metrics)
      .filter(([, values]) => values.length > 0)
      .map(([name, values]) => `${name} ${formatNumber(values[values.length - 1])}`);
    const lastEpoch = epochs.length > 0 ? `, last epoch ${epochs[epochs.length - 1]}` : '';
    lines.push(`History: ${plural(epochs.length, 'epoch')}${lastEpoch}${last.length > 0 ? `: ${last.join(', ')}` : ''}`);
  }
  if (rec.inputScaling !== undefined) {
    const s = rec.inputScaling;
    lines.push(`Input scaling: ${s.method}, ${plural(s.offset.length, 'feature')} ((x - offset) / scale, fitted on the training samples)`);
  }
  const metadata = Object.entries(rec.metadata ?? {});
  if (metadata.length > 0) {
    lines.push('Metadata:');
    for (const [key, value] of metadata) lines.push(`  ${key}: ${value}`);
  }
  return lines.join('\n');
}

function layerName(layer: LayerRecord): string {
  return typeof layer.config.name === 'string' ? layer.config.name : '';
}

/** The preferred keys first, then any other short scalar settings; objects (initializers) are left out. */
function keyConfig(layer: LayerRecord): string {
  const keys = Object.keys(layer.config).filter((k) => !HIDDEN_CONFIG.has(k) && isShort(layer.config[k]));
  keys.sort((a, b) => rankOf(a) - rankOf(b));
  return clip(formatEntries(keys.map((k) => [k, layer.config[k]])));
}

function rankOf(key: string): number {
  const i = KEY_CONFIG.indexOf(key);
  return i === -1 ? KEY_CONFIG.length : i;
}

function isShort(v: unknown): boolean {
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return true;
  return Array.isArray(v) && v.length <= 8 && v.every((x) => x === null || typeof x !== 'object');
}

function formatEntries(entries: [string, unknown][]): string {
  return entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  return JSON.stringify(v) ?? String(v);
}

function formatNumber(v: number): string {
  return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function clip(s: string): string {
  return s.length <= MAX_CONFIG_CHARS ? s : `${s.slice(0, MAX_CONFIG_CHARS - 1)}…`;
}

/** Left-aligned columns (right-aligned where `right[i]`), a rule under the heading row. */
function table(rows: string[][], right: boolean[] = []): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const format = (r: string[]): string =>
    r.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [format(rows[0]), rule, ...rows.slice(1).map(format)];
}
