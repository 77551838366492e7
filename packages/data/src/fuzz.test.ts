/**
 * Seeded fuzzing of the IDX and CSV readers (issue 10, "hostile files"): random mutations of
 * valid files must each load or throw an `Error`, within 1 s, without allocating more than the
 * cap allows. Failures are collected and reported together with the case number and the
 * mutations applied, so a failing case can be replayed from its seed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '@loom/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { BOUNDARY_BYTES as BOUNDARY, attempt, outcomeProblem } from '../../../tools/testing/hostile-input.js';
import { encodeIdx, parseIdx, readCsv, readCsvChunks, readIdx, readIdxSync, type CsvOptions, type IdxArray, type IdxDtype } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `maxBytes` given to the IDX readers. */
const CAP = 2 ** 20;
const HUGE = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 2 ** 20 + 1];
const pick = <T>(rng: Random, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

// ---------------------------------------------------------------------------------------------
// IDX

function idxBase(dtype: IdxDtype, shape: number[], rng: Random): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const make = { uint8: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[dtype];
  const data = new make(n);
  for (let i = 0; i < n; i++) data[i] = (rng.uniform() - 0.5) * 300;
  return encodeIdx({ dtype, shape, data } as IdxArray);
}

const IDX_SHAPES: [IdxDtype, number[]][] = [
  ['uint8', [3, 4, 5]],
  ['uint8', [10]],
  ['int8', [2, 3]],
  ['int16', [4, 4]],
  ['int32', []],
  ['int32', [0, 5]],
  ['float32', [2, 7]],
  ['float64', [2, 2, 2]],
];

/** Applies 1–3 random mutations to a valid IDX file; returns the bytes and a description. */
function mutateIdx(base: Uint8Array, rng: Random): { bytes: Uint8Array; ops: string[] } {
  let b = base.slice();
  const ops: string[] = [];
  const header = Math.min(b.length, 4 + 4 * b[3]!);
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const at = (len: number) => rng.int(Math.max(1, len));
    switch (rng.int(11)) {
      case 0: {
        const i = at(b.length);
        if (b.length > 0) b[i]! ^= 1 << rng.int(8);
        ops.push(`flip@${i}`);
        break;
      }
      case 1: {
        const i = at(b.length);
        const v = pick(rng, BOUNDARY);
        if (b.length > 0) b[i] = v;
        ops.push(`byte@${i}=${v}`);
        break;
      }
      case 2: {
        // Target the header: that is where sizes come from.
        const i = at(header);
        const v = pick(rng, BOUNDARY);
        if (i < b.length) b[i] = v;
        ops.push(`head@${i}=${v}`);
        break;
      }
      case 3: {
        const dims = (header - 4) >> 2;
        const i = dims > 0 ? rng.int(dims) : 0;
        const v = rng.int(4) === 0 ? rng.nextUint32() : pick(rng, HUGE);
        if (4 + 4 * i + 4 <= b.length) new DataView(b.buffer).setUint32(4 + 4 * i, v, false);
        ops.push(`dim${i}=${v}`);
        break;
      }
      case 4: {
        const v = pick(rng, [0, 1, 2, 3, 4, 100, 255]);
        if (b.length > 3) b[3] = v;
        ops.push(`rank=${v}`);
        break;
      }
      case 5: {
        const v = pick(rng, [0x00, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff]);
        if (b.length > 2) b[2] = v;
        ops.push(`dtype=${v}`);
        break;
      }
      case 6: {
        const n = at(b.length + 1);
        b = b.slice(0, n);
        ops.push(`truncate@${n}`);
        break;
      }
      case 7: {
        const junk = new Uint8Array(1 + rng.int(64)).map(() => rng.int(256));
        const out = new Uint8Array(b.length + junk.length);
        out.set(b);
        out.set(junk, b.length);
        b = out;
        ops.push(`extend+${junk.length}`);
        break;
      }
      case 8: {
        const from = at(b.length);
        const len = 1 + rng.int(16);
        const to = at(b.length);
        const piece = b.slice(from, from + len);
        b = Uint8Array.from([...b.subarray(0, to), ...piece, ...b.subarray(to)]);
        ops.push(`dup[${from},+${piece.length}]@${to}`);
        break;
      }
      case 9: {
        const from = at(b.length);
        const len = 1 + rng.int(16);
        b = Uint8Array.from([...b.subarray(0, from), ...b.subarray(from + len)]);
        ops.push(`cut[${from},+${len}]`);
        break;
      }
      default: {
        // So many huge dimensions that their product overflows to Infinity, and one zero.
        const rank = 33 + rng.int(200);
        const zero = rng.int(rank);
        const out = new Uint8Array(4 + 4 * rank + rng.int(3) * rng.int(64));
        const view = new DataView(out.buffer);
        out[2] = b[2] ?? 0x08;
        out[3] = rank;
        for (let i = 0; i < rank; i++) view.setUint32(4 + 4 * i, i === zero ? 0 : 0xffffffff, false);
        b = out;
        ops.push(`overflow(rank ${rank}, zero@${zero}, ${out.length} bytes)`);
      }
    }
  }
  return { bytes: b, ops };
}

/** A loaded IDX array must be self-consistent, within the cap, and account for every byte. */
function idxResultProblem(r: IdxArray, fileBytes: number): string | undefined {
  const elements = r.shape.includes(0) ? 0 : r.shape.reduce((a, b) => a * b, 1);
  if (r.data.length !== elements) return `loaded ${r.data.length} elements for shape [${r.shape.length > 8 ? `${r.shape.length} dims` : r.shape.join(', ')}]`;
  if (r.data.byteLength > CAP) return `loaded ${r.data.byteLength} bytes, over the cap`;
  if (4 + 4 * r.shape.length + r.data.byteLength !== fileBytes) return `loaded a ${fileBytes}-byte file whose header and data take ${4 + 4 * r.shape.length + r.data.byteLength}`;
  return undefined;
}

describe('fuzz: IDX', () => {
  it('1,500 mutated buffers through parseIdx: each loads or throws an Error, fast, within the cap', async () => {
    const rng = new Random(0x1d0);
    const bases = IDX_SHAPES.map(([dtype, shape]) => idxBase(dtype, shape, rng));
    const failures: string[] = [];
    let loaded = 0;
    for (let c = 0; c < 1500; c++) {
      const { bytes, ops } = mutateIdx(pick(rng, bases), rng);
      const limit = rng.int(5) === 0 ? rng.int(4) : undefined;
      const o = await attempt(() => parseIdx(bytes, `case${c}`, { maxBytes: CAP, limit }));
      const why = outcomeProblem(o, CAP + 2 ** 16) ?? (o.error === undefined && limit === undefined ? idxResultProblem(o.result as IdxArray, bytes.length) : undefined);
      if (why !== undefined) failures.push(`case ${c} [${ops.join(' ')}]: ${why}`);
      if (o.error === undefined) loaded++;
    }
    expect(failures).toEqual([]);
    // The mutations must not all be rejected trivially: some (a flipped data byte) still load.
    expect(loaded).toBeGreaterThan(50);
  });

  it('200 mutated files through readIdx / readIdxSync behave the same as parseIdx', async () => {
    const rng = new Random(0x1d1);
    const bases = IDX_SHAPES.map(([dtype, shape]) => idxBase(dtype, shape, rng));
    const failures: string[] = [];
    for (let c = 0; c < 200; c++) {
      const { bytes, ops } = mutateIdx(pick(rng, bases), rng);
      const path = join(dir, `idx-${c}`);
      writeFileSync(path, bytes);
      const o = await attempt(() => (c % 2 === 0 ? readIdx(path, { maxBytes: CAP }) : readIdxSync(path, { maxBytes: CAP })));
      let why = outcomeProblem(o, CAP + 2 ** 16);
      // The file readers and the buffer parser share their checks: same verdict, same data.
      let inMemory: unknown;
      try {
        inMemory = parseIdx(bytes, path, { maxBytes: CAP });
      } catch (e) {
        inMemory = e;
      }
      if (why === undefined && (o.error === undefined) !== !(inMemory instanceof Error)) {
        why = `file reader ${o.error === undefined ? 'loaded' : 'threw'}, parseIdx ${inMemory instanceof Error ? 'threw' : 'loaded'}`;
      }
      if (why === undefined && o.error !== undefined && (o.error as Error).message !== (inMemory as Error).message) {
        why = `different errors: "${(o.error as Error).message}" vs "${(inMemory as Error).message}"`;
      }
      if (why !== undefined) failures.push(`case ${c} [${ops.join(' ')}]: ${why}`);
    }
    expect(failures).toEqual([]);
  });

  it('a header claiming a huge size is rejected before anything is allocated', async () => {
    const failures: string[] = [];
    const claims: number[][] = [[2 ** 21], [0xffffffff], [60000, 28, 28], [0xffffffff, 0xffffffff], [2 ** 16, 2 ** 16, 2 ** 16], Array(40).fill(0xffffffff)];
    for (const shape of claims) {
      for (const dtypeCode of [0x08, 0x0e]) {
        const bytes = new Uint8Array(4 + 4 * shape.length + 16);
        const view = new DataView(bytes.buffer);
        bytes[2] = dtypeCode;
        bytes[3] = shape.length;
        shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
        const file = join(dir, `huge-${shape.length}-${dtypeCode}`);
        writeFileSync(file, bytes);
        for (const maxBytes of [CAP, undefined]) {
          for (const run of [() => parseIdx(bytes, 'huge', { maxBytes }), () => readIdx(file, { maxBytes }), () => readIdxSync(file, { maxBytes })]) {
            const o = await attempt(run);
            const message = o.error instanceof Error ? o.error.message : '';
            // With the small cap the cap check fires; with the default cap, the file length check.
            const expected = maxBytes === CAP ? /over the cap maxBytes/ : /over the cap|truncated file/;
            if (!expected.test(message)) failures.push(`shape [${shape.join(', ')}] maxBytes ${maxBytes}: ${message || 'loaded'}`);
            else if (o.grew > 2 ** 16) failures.push(`shape [${shape.join(', ')}] maxBytes ${maxBytes}: grew ${o.grew} bytes`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// CSV

const CELLS = ['0', '1', '-2', '3.25', '1e-3', '-4.5E+2', ' 7 ', '"8"', '" 9 "', '0.1', '1000000', 'NaN', '.5', '+6'];
const HOSTILE_CELLS = ['', ' ', '""', '"', 'NaN', 'nan', 'Infinity', '-Infinity', '1e999', '0x1F', '0b101', '1,5', '1;5', 'abc', '\0', '1"', '"1', '−1', 'é', '\uFEFF1', '1e', '--1', '٣'];
const JUNK_CHARS = [',', ';', '\t', '"', '\r', '\n', ' ', 'a', 'e', '.', '-', '+', '0', '9', '\0', '\uFEFF', 'é', '€', '😀', '\ud800'];
const DELIMITERS = [',', ',', ';', '\t', '::'];

interface CsvCase {
  text: string;
  options: CsvOptions;
}

function csvBase(rng: Random): CsvCase {
  const cols = 1 + rng.int(6);
  const rows = rng.int(30);
  const d = pick(rng, DELIMITERS);
  const eol = rng.int(4) === 0 ? '\r\n' : '\n';
  const header = rng.int(5) !== 0;
  const names = Array.from({ length: cols }, (_, i) => (rng.int(4) === 0 ? `"c${i}"` : `c${i}`));
  const lines: string[] = [];
  if (header) lines.push(names.join(d));
  for (let r = 0; r < rows; r++) {
    lines.push(Array.from({ length: cols }, () => pick(rng, CELLS)).join(d));
    if (rng.int(15) === 0) lines.push('');
  }
  let text = (rng.int(8) === 0 ? '\uFEFF' : '') + lines.join(eol) + (rng.int(3) === 0 ? '' : eol);
  if (text.length === 0) text = eol;
  const options: CsvOptions = { header, delimiter: d };
  const lc = rng.int(5);
  if (lc === 1) options.labelColumn = header ? `c${rng.int(cols)}` : rng.int(cols);
  else if (lc === 2) options.labelColumn = -1;
  else if (lc === 3) options.labelColumn = rng.int(cols + 2) - 1;
  if (rng.int(3) === 0) options.chunkSize = 1 + rng.int(8);
  if (rng.int(10) === 0) options.maxLineBytes = 16 + rng.int(256);
  return { text, options };
}

function mutateCsv(base: CsvCase, rng: Random): { bytes: Uint8Array; ops: string[] } {
  let t = base.text;
  const d = base.options.delimiter ?? ',';
  const ops: string[] = [];
  const at = () => rng.int(t.length + 1);
  for (let k = 1 + rng.int(3); k > 0; k--) {
    switch (rng.int(12)) {
      case 0: {
        const i = at();
        t = t.slice(0, i) + pick(rng, JUNK_CHARS) + t.slice(i);
        ops.push(`char@${i}`);
        break;
      }
      case 1: {
        const i = at();
        t = t.slice(0, i) + t.slice(i + 1 + rng.int(4));
        ops.push(`del@${i}`);
        break;
      }
      case 2: {
        const i = at();
        t = t.slice(0, i) + d + t.slice(i);
        ops.push(`delim@${i}`);
        break;
      }
      case 3: {
        const i = t.indexOf(d, at());
        if (i >= 0) t = t.slice(0, i) + t.slice(i + d.length);
        ops.push(`undelim@${i}`);
        break;
      }
      case 4: {
        // Replace one cell with a hostile one.
        const lines = t.split('\n');
        const l = rng.int(lines.length);
        const cells = lines[l]!.split(d);
        cells[rng.int(cells.length)] = pick(rng, HOSTILE_CELLS);
        lines[l] = cells.join(d);
        t = lines.join('\n');
        ops.push(`cell@line${l + 1}`);
        break;
      }
      case 5: {
        // Long runs cross the reader's 1 MiB block boundary. Runs of delimiters stay shorter:
        // every delimiter is a column (linear, but ~300 ns each), and CASE_MS is a hang detector.
        const i = at();
        const filler = pick(rng, ['9', 'x', d, ' ', '"']);
        const big = filler === d ? 150_000 : 1_300_000;
        const len = rng.int(3) === 0 ? 50_000 + rng.int(big) : 1 + rng.int(5_000);
        t = t.slice(0, i) + filler.repeat(Math.ceil(len / filler.length)) + t.slice(i);
        ops.push(`long(${JSON.stringify(filler)}x${len})@${i}`);
        break;
      }
      case 6: {
        // A header of thousands of columns: the chunk buffers must not be sized from it alone.
        const wide = 2_000 + rng.int(8_000);
        const nl = t.indexOf('\n');
        t = Array.from({ length: wide }, (_, i) => `w${i}`).join(d) + (nl >= 0 ? t.slice(nl) : '\n1');
        ops.push(`wide(${wide})`);
        break;
      }
      case 7: {
        const lines = t.split('\n');
        const l = rng.int(lines.length);
        lines.splice(rng.int(lines.length + 1), 0, lines[l]!);
        t = lines.join('\n');
        ops.push(`dupline${l + 1}`);
        break;
      }
      case 8: {
        const lines = t.split('\n');
        const l = rng.int(lines.length);
        lines.splice(l, 1);
        t = lines.join('\n');
        ops.push(`rmline${l + 1}`);
        break;
      }
      case 9: {
        const i = at();
        t = t.slice(0, i);
        ops.push(`truncate@${i}`);
        break;
      }
      case 10: {
        const i = at();
        t = t.slice(0, i) + pick(rng, ['\r', '\r\r\n', '\n\n', '\u2028', '""""', '"a,b"']) + t.slice(i);
        ops.push(`break@${i}`);
        break;
      }
      default: {
        ops.push('bytes');
        const bytes = new TextEncoder().encode(t);
        // Byte-level damage: invalid UTF-8, cut multi-byte characters, binary junk.
        const out = Uint8Array.from([...bytes, ...Array.from({ length: 1 + rng.int(32) }, () => rng.int(256))]);
        for (let j = rng.int(4); j > 0; j--) out[rng.int(out.length)] = pick(rng, BOUNDARY);
        return { bytes: out, ops };
      }
    }
  }
  return { bytes: new TextEncoder().encode(t), ops };
}

/** A loaded CSV must be self-consistent. */
function csvResultProblem(r: Awaited<ReturnType<typeof readCsv>>, options: CsvOptions): string | undefined {
  const [rows, width] = r.x.shape as [number, number];
  if (r.x.data.length !== rows * width) return `x has ${r.x.data.length} values for shape [${rows}, ${width}]`;
  if (r.columns.length !== width) return `${r.columns.length} column names for ${width} columns`;
  if ((options.labelColumn === undefined) !== (r.y === undefined)) return 'labels present without labelColumn, or missing with it';
  if (r.y !== undefined && r.y.length !== rows) return `${r.y.length} labels for ${rows} rows`;
  return undefined;
}

describe('fuzz: CSV', () => {
  it('1,000 mutated files through readCsv / readCsvChunks: each loads or throws an Error, fast, bounded by the file', async () => {
    const rng = new Random(0xc5f);
    const failures: string[] = [];
    let loaded = 0;
    for (let c = 0; c < 1000; c++) {
      const base = csvBase(rng);
      const { bytes, ops } = mutateCsv(base, rng);
      const path = join(dir, `csv-${c}.csv`);
      writeFileSync(path, bytes);
      const chunked = c % 4 === 3;
      const o = await attempt(async () => {
        if (!chunked) return readCsv(path, base.options);
        let rows = 0;
        for await (const chunk of readCsvChunks(path, base.options)) rows += chunk.rows;
        return rows;
      });
      // Read-stream blocks (1 MiB each, freed only by a GC) plus a few times the file for the
      // decoded text and the parsed floats. Before the fix, a wide header reserved gigabytes.
      const why = outcomeProblem(o, 4 * 2 ** 20 + 8 * bytes.length) ?? (o.error === undefined && !chunked ? csvResultProblem(o.result as never, base.options) : undefined);
      if (why !== undefined) failures.push(`case ${c} [${ops.join(' ')}] options ${JSON.stringify(base.options)}: ${why}`);
      if (o.error === undefined) loaded++;
    }
    expect(failures).toEqual([]);
    expect(loaded).toBeGreaterThan(50);
  });
});
