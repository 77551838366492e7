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
  /**
   * Longest line accepted, in bytes (default 64 MiB). A file with no line breaks (a binary
   * file, or one with old Mac `\r` endings) fails here with an error naming the line, instead of
   * being held in memory whole.
   */
  maxLineBytes?: number;
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
/** Default cap on one line: 64 MiB. */
export const CSV_DEFAULT_MAX_LINE_BYTES = 64 * 2 ** 20;
/** Bytes read per block. */
const BLOCK_BYTES = 1 << 20;
/** Longest cell text quoted in an error message. */
const QUOTED_CELL_CHARS = 40;

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

interface Checked {
  header: boolean;
  delimiter: string;
  chunkSize: number;
  maxLineBytes: number;
}

function checkOptions(path: string, options: CsvOptions): Checked {
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
  const maxLineBytes = options.maxLineBytes ?? CSV_DEFAULT_MAX_LINE_BYTES;
  if (typeof maxLineBytes !== 'number' || !(maxLineBytes > 0)) {
    throw new RangeError(`readCsv: ${path}: maxLineBytes must be a positive number, got ${String(maxLineBytes)}`);
  }
  return { header: options.header ?? true, delimiter, chunkSize, maxLineBytes };
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
          `readCsv: ${path} line ${lineNo}, column ${c + 1}${name === undefined ? '' : ` (${JSON.stringify(name)})`}: ${cell.length === 0 ? 'empty cell' : `non-numeric cell ${quoteCell(cell)}`}`,
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

/** The cell as JSON, cut short: a hostile file's "cell" can be megabytes long. */
function quoteCell(cell: string): string {
  return cell.length <= QUOTED_CELL_CHARS ? JSON.stringify(cell) : `${JSON.stringify(cell.slice(0, QUOTED_CELL_CHARS))}… (${cell.length} characters)`;
}

function wrongCount(path: string, lineNo: number, line: string, d: string, cells: number): Error {
  // Counted with indexOf, not split: a long line of delimiters would make an array of millions.
  let got = 1;
  for (let at = line.indexOf(d); at >= 0; at = line.indexOf(d, at + d.length)) got++;
  return new Error(`readCsv: ${path} line ${lineNo}: expected ${cells} columns, got ${got}`);
}

function lineTooLong(path: string, lineNo: number, bytes: number, maxLineBytes: number): Error {
  return new Error(
    `readCsv: ${path} line ${lineNo}: line longer than maxLineBytes = ${maxLineBytes} (${bytes} bytes without a line break so far); not a text CSV file, or raise maxLineBytes`,
  );
}

/**
 * The file's lines, without their `\n`. Each block is decoded once and its lines are sliced from
 * the text; the line still open at the end of a block is kept as pieces and joined once its line
 * break arrives, so a line spanning many blocks costs linear time (re-concatenating and re-scanning
 * it for every block was quadratic: 14 s for one 100 MB line). Line lengths are counted in bytes
 * by finding each `\n` in the raw block too: UTF-8 never uses the byte 0x0a inside a multi-byte
 * character, so the raw and decoded line breaks correspond one to one.
 */
async function* lines(fh: FileHandle, path: string, maxLineBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let pending: string[] = [];
  let pendingBytes = 0;
  let lineNo = 1;
  for await (const chunk of fh.createReadStream({ highWaterMark: BLOCK_BYTES, autoClose: false })) {
    const block = chunk as Buffer;
    const text = decoder.decode(block, { stream: true });
    let nl = text.indexOf('\n');
    let rawNl = block.indexOf(10);
    if (nl < 0) {
      pendingBytes += block.length;
      if (pendingBytes > maxLineBytes) throw lineTooLong(path, lineNo, pendingBytes, maxLineBytes);
      pending.push(text);
      continue;
    }
    if (pendingBytes + rawNl > maxLineBytes) throw lineTooLong(path, lineNo, pendingBytes + rawNl, maxLineBytes);
    pending.push(text.slice(0, nl));
    yield pending.length === 1 ? pending[0]! : pending.join('');
    lineNo++;
    pending = [];
    let pos = nl + 1;
    let rawPos = rawNl + 1;
    for (nl = text.indexOf('\n', pos); nl >= 0; nl = text.indexOf('\n', pos)) {
      rawNl = block.indexOf(10, rawPos);
      if (rawNl - rawPos > maxLineBytes) throw lineTooLong(path, lineNo, rawNl - rawPos, maxLineBytes);
      yield text.slice(pos, nl);
      lineNo++;
      pos = nl + 1;
      rawPos = rawNl + 1;
    }
    pendingBytes = block.length - rawPos;
    if (pendingBytes > maxLineBytes) throw lineTooLong(path, lineNo, pendingBytes, maxLineBytes);
    pending.push(text.slice(pos));
  }
  pending.push(decoder.decode());
  const last = pending.join('');
  if (last.length > 0) yield last;
}

async function* chunks(path: string, options: CsvOptions, onLayout?: (lay: Layout) => void): AsyncGenerator<CsvChunk> {
  const { header, delimiter, chunkSize, maxLineBytes } = checkOptions(path, options);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    throw new Error(`readCsv: ${path}: ${code === 'ENOENT' ? 'file not found' : `cannot open file (${code ?? String(err)})`}`, { cause: err });
  }
  try {
    const fileBytes = (await fh.stat()).size;
    let lay: Layout | undefined;
    let lineNo = 0;
    let x: Float32Array | undefined;
    let y: Float32Array | undefined;
    let rows = 0;
    /** Rows `x` and `y` have room for; at most `chunkSize`. */
    let capacity = 0;
    for await (let line of lines(fh, path, maxLineBytes)) {
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
        // Sized by what the file can hold, not by chunkSize alone: a header of 20,000 columns
        // in a 200 KB file must not reserve 65,536 x 20,000 floats (5 GB). Every data row but the
        // last takes at least 2 bytes per cell (a non-empty cell and a delimiter or line break).
        capacity = Math.min(chunkSize, Math.floor(fileBytes / (2 * lay.cells)) + 1);
        x = allocFloat32(capacity * lay.names.length);
        y = lay.label >= 0 ? allocFloat32(capacity) : undefined;
      } else if (rows === capacity) {
        // Only when the file grew while being read, or is not a regular file (size 0).
        capacity = Math.min(chunkSize, capacity * 2);
        x = grow(x, capacity * lay.names.length);
        y = y === undefined ? undefined : grow(y, capacity);
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

function grow(a: Float32Array, length: number): Float32Array {
  const out = allocFloat32(length);
  out.set(a);
  return out;
}

/**
 * Streams a numeric CSV file in chunks of `chunkSize` rows (the last may be shorter).
 * Cells are parsed with `Number` (surrounding quotes and spaces allowed; `NaN` is accepted
 * literally, other non-numbers are errors). Blank lines are skipped. Errors name the file,
 * the line number and the column: a row with the wrong number of columns, a non-numeric or
 * empty cell, a label column missing from the header, a line longer than `maxLineBytes`.
 * Memory is bounded by the file: buffers are sized by what the file's length can hold.
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
  // An empty file without a header has no layout, but asked-for labels are still there (none).
  const wantsY = l === undefined ? options.labelColumn !== undefined : l.label >= 0;
  const y = wantsY ? allocFloat32(rows) : undefined;
  let r = 0;
  for (const c of parts) {
    x.set(c.x, r * width);
    if (y !== undefined) y.set(c.y!, r);
    r += c.rows;
  }
  const out: CsvData = { x: new Tensor(x, [rows, width]), columns: l === undefined ? [] : [...l.names] };
  if (y !== undefined) {
    out.y = y;
    if (l !== undefined) out.labelName = l.labelName;
  }
  return out;
}
