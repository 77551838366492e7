/**
 * Numeric CSV, streamed: the file is read in blocks and handed out in chunks of rows, so a file
 * larger than memory can be consumed chunk by chunk.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { allocFloat32, Tensor } from '@loom/tensor';

export interface CsvOptions {
  /** The first non-blank line names the columns (default true). */
  header?: boolean;
  /** The label column: a name from the header, or an index (negative counts from the end). */
  labelColumn?: string | number;
  /** Cell separator (default `','`). */
  delimiter?: string;
  /** Rows per chunk (default 65,536). */
  chunkSize?: number;
}

/** A block of consecutive rows. Each chunk has its own arrays; the consumer may keep them. */
export interface CsvChunk {
  /** `rows × columns` feature values, row-major. */
  x: Float32Array;
  /** One label per row, when `labelColumn` is set. */
  y?: Float32Array;
  rows: number;
  /** Feature columns per row (the label column excluded). */
  columns: number;
  /** The feature columns' names (header names, or their indices as strings without a header). */
  names: readonly string[];
}

export interface CsvData {
  /** `[rows, features]`. */
  x: Tensor;
  /** One label per row, when `labelColumn` is set. */
  y?: Float32Array;
  /** The feature columns' names, in order. */
  columns: string[];
  /** The label column's name, when `labelColumn` is set. */
  labelName?: string;
}

const DEFAULT_CHUNK = 65_536;

interface Layout {
  /** Cells per row, label included. */
  cells: number;
  /** Position of the label among the cells, or -1. */
  label: number;
  names: string[];
  labelName: string | undefined;
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34 ? t.slice(1, -1) : t;
}

function checkOptions(path: string, options: CsvOptions): { header: boolean; delimiter: string; chunkSize: number } {
  const delimiter = options.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length === 0 || /["\r\n]/.test(delimiter)) {
    throw new RangeError(`readCsv: ${path}: delimiter must be a non-empty string without quotes or line breaks, got ${JSON.stringify(delimiter)}`);
  }
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
    throw new RangeError(`readCsv: ${path}: chunkSize must be a positive integer, got ${chunkSize}`);
  }
  const lc = options.labelColumn;
  if (lc !== undefined && typeof lc !== 'string' && !Number.isInteger(lc)) {
    throw new RangeError(`readCsv: ${path}: labelColumn must be a column name or an integer index, got ${String(lc)}`);
  }
  return { header: options.header ?? true, delimiter, chunkSize };
}

function layoutOf(path: string, line: number, names: string[], labelColumn: string | number | undefined, hasHeader: boolean): Layout {
  const cells = names.length;
  let label = -1;
  if (typeof labelColumn === 'string') {
    if (!hasHeader) throw new RangeError(`readCsv: ${path}: labelColumn "${labelColumn}" is a name, but header is false; give an index`);
    label = names.indexOf(labelColumn);
    if (label < 0) {
      throw new RangeError(`readCsv: ${path}: label column "${labelColumn}" not found in the header (line ${line}); columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    }
  } else if (typeof labelColumn === 'number') {
    label = labelColumn < 0 ? cells + labelColumn : labelColumn;
    if (label < 0 || label >= cells) {
      throw new RangeError(`readCsv: ${path}: labelColumn ${labelColumn} is outside the ${cells} columns`);
    }
  }
  const labelName = label >= 0 ? names[label] : undefined;
  return { cells, label, names: names.filter((_, i) => i !== label), labelName };
}

/** Splits a header line (names, not numbers). */
function splitNames(line: string, delimiter: string): string[] {
  return line.split(delimiter).map(unquote);
}

/**
 * Parses one data line into `x` (from `xo`) and `y` (at `yo`). Scans with indexOf rather than
 * `split`, so a row costs no array of strings.
 */
function parseRow(path: string, lineNo: number, line: string, d: string, lay: Layout, x: Float32Array, xo: number, y: Float32Array | undefined, yo: number): void {
  let pos = 0;
  let xi = xo;
  for (let c = 0; c < lay.cells; c++) {
    let end = line.indexOf(d, pos);
    if (end < 0) {
      if (c !== lay.cells - 1) throw wrongCount(path, lineNo, line, d, lay.cells);
      end = line.length;
    } else if (c === lay.cells - 1) {
      throw wrongCount(path, lineNo, line, d, lay.cells);
    }
    const cell = line.slice(pos, end).trim();
    let v = Number(cell);
    if (Number.isNaN(v) || cell.length === 0) {
      const inner = unquote(cell);
      v = inner.length === 0 ? NaN : Number(inner);
      if ((Number.isNaN(v) && inner !== 'NaN') || inner.length === 0) {
        const name = c === lay.label ? lay.labelName : nameOf(lay, c);
        throw new Error(
          `readCsv: ${path} line ${lineNo}, column ${c + 1}${name === undefined ? '' : ` (${JSON.stringify(name)})`}: ${cell.length === 0 ? 'empty cell' : `non-numeric cell ${JSON.stringify(cell)}`}`,
        );
      }
    }
    if (c === lay.label) y![yo] = v;
    else x[xi++] = v;
    pos = end + d.length;
  }
}

function nameOf(lay: Layout, cell: number): string | undefined {
  const feature = lay.label >= 0 && cell > lay.label ? cell - 1 : cell;
  return lay.names[feature];
}

function wrongCount(path: string, lineNo: number, line: string, d: string, cells: number): Error {
  return new Error(`readCsv: ${path} line ${lineNo}: expected ${cells} columns, got ${line.split(d).length}`);
}

async function* lines(fh: FileHandle): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  for await (const block of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
    const text = rest + decoder.decode(block as Uint8Array, { stream: true });
    let pos = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', pos)) {
      yield text.slice(pos, nl);
      pos = nl + 1;
    }
    rest = text.slice(pos);
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest;
}

async function* chunks(path: string, options: CsvOptions, onLayout?: (lay: Layout) => void): AsyncGenerator<CsvChunk> {
  const { header, delimiter, chunkSize } = checkOptions(path, options);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    throw new Error(`readCsv: ${path}: ${code === 'ENOENT' ? 'file not found' : `cannot open file (${code ?? String(err)})`}`, { cause: err });
  }
  try {
    let lay: Layout | undefined;
    let lineNo = 0;
    let x: Float32Array | undefined;
    let y: Float32Array | undefined;
    let rows = 0;
    for await (let line of lines(fh)) {
      lineNo++;
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // byte-order mark
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1); // CRLF
      if (line.trim().length === 0) continue;
      if (lay === undefined) {
        const first = splitNames(line, delimiter);
        lay = layoutOf(path, lineNo, header ? first : first.map((_, i) => String(i)), options.labelColumn, header);
        onLayout?.(lay);
        if (header) continue;
      }
      if (x === undefined) {
        x = allocFloat32(chunkSize * lay.names.length);
        y = lay.label >= 0 ? allocFloat32(chunkSize) : undefined;
      }
      parseRow(path, lineNo, line, delimiter, lay, x, rows * lay.names.length, y, rows);
      if (++rows === chunkSize) {
        yield { x, y, rows, columns: lay.names.length, names: lay.names };
        x = undefined;
        y = undefined;
        rows = 0;
      }
    }
    if (lay === undefined && header) throw new Error(`readCsv: ${path}: empty file, expected a header row`);
    if (rows > 0 && lay !== undefined && x !== undefined) {
      const w = lay.names.length;
      yield { x: x.subarray(0, rows * w), y: y?.subarray(0, rows), rows, columns: w, names: lay.names };
    }
  } finally {
    await fh.close();
  }
}

/**
 * Streams a numeric CSV file in chunks of `chunkSize` rows (the last may be shorter).
 * Cells are parsed with `Number` (surrounding quotes and spaces allowed; `NaN` is accepted
 * literally, other non-numbers are errors). Blank lines are skipped. Errors name the file,
 * the line number and the column: a row with the wrong number of columns, a non-numeric or
 * empty cell, a label column missing from the header.
 */
export function readCsvChunks(path: string, options: CsvOptions = {}): AsyncIterable<CsvChunk> {
  return { [Symbol.asyncIterator]: () => chunks(path, options) };
}

/** Reads a whole numeric CSV file (see {@link readCsvChunks}) into `x: [rows, features]` and `y`. */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<CsvData> {
  let lay: Layout | undefined;
  const parts: CsvChunk[] = [];
  let rows = 0;
  for await (const c of chunks(path, options, (l) => (lay = l))) {
    parts.push(c);
    rows += c.rows;
  }
  const l = lay as Layout | undefined;
  const width = l?.names.length ?? 0;
  const x = allocFloat32(rows * width);
  const y = l !== undefined && l.label >= 0 ? allocFloat32(rows) : undefined;
  let r = 0;
  for (const c of parts) {
    x.set(c.x, r * width);
    if (y !== undefined) y.set(c.y!, r);
    r += c.rows;
  }
  const out: CsvData = { x: new Tensor(x, [rows, width]), columns: l === undefined ? [] : [...l.names] };
  if (y !== undefined) {
    out.y = y;
    out.labelName = l!.labelName;
  }
  return out;
}
