import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv, readCsvChunks, type CsvChunk } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readCsv', () => {
  it('reads a header and all columns as features', async () => {
    const path = file('plain.csv', 'a,b,c\n1,2,3\n4.5,-5,6e2\n');
    const { x, y, columns } = await readCsv(path);
    expect(columns).toEqual(['a', 'b', 'c']);
    expect(x.shape).toEqual([2, 3]);
    expect(Array.from(x.data)).toEqual([1, 2, 3, 4.5, -5, 600]);
    expect(y).toBeUndefined();
  });

  it('takes the label column by name or by index (negative from the end)', async () => {
    const path = file('label.csv', 'f1,label,f2\n1,0,2\n3,1,4\n5,2,6\n');
    const byName = await readCsv(path, { labelColumn: 'label' });
    expect(byName.columns).toEqual(['f1', 'f2']);
    expect(byName.labelName).toBe('label');
    expect(Array.from(byName.x.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(byName.y!)).toEqual([0, 1, 2]);
    const byIndex = await readCsv(path, { labelColumn: 1 });
    expect(Array.from(byIndex.y!)).toEqual([0, 1, 2]);
    const last = await readCsv(path, { labelColumn: -1 });
    expect(Array.from(last.y!)).toEqual([2, 4, 6]);
    expect(last.columns).toEqual(['f1', 'label']);
  });

  it('without a header: names are column indices, every line is data', async () => {
    const path = file('nohead.csv', '1;2;9\n3;4;8\n');
    const { x, y, columns } = await readCsv(path, { header: false, delimiter: ';', labelColumn: 2 });
    expect(columns).toEqual(['0', '1']);
    expect(Array.from(x.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(y!)).toEqual([9, 8]);
  });

  it('handles other delimiters, CRLF, a BOM, quotes, spaces and blank lines', async () => {
    const path = file('messy.tsv', '\uFEFF"x"\t "y" \r\n 1\t"2"\r\n\r\n3 \t 4\r\n');
    const { x, columns } = await readCsv(path, { delimiter: '\t' });
    expect(columns).toEqual(['x', 'y']);
    expect(Array.from(x.data)).toEqual([1, 2, 3, 4]);
    // No final newline.
    const last = await readCsv(file('nofinal.csv', 'a\n1\n2'));
    expect(Array.from(last.x.data)).toEqual([1, 2]);
  });

  it('reads a file with more rows than chunkSize in chunks', async () => {
    const rows = 1003;
    let text = 'a,b,label\n';
    for (let i = 0; i < rows; i++) text += `${i},${-i},${i % 10}\n`;
    const path = file('big.csv', text);
    const chunks: CsvChunk[] = [];
    for await (const c of readCsvChunks(path, { labelColumn: 'label', chunkSize: 100 })) chunks.push(c);
    expect(chunks.map((c) => c.rows)).toEqual([...new Array<number>(10).fill(100), 3]);
    expect(chunks.every((c) => c.columns === 2 && c.x.length === c.rows * 2 && c.y!.length === c.rows)).toBe(true);
    expect(chunks[0]!.names).toEqual(['a', 'b']);
    // Each chunk owns its arrays.
    expect(chunks[0]!.x.buffer).not.toBe(chunks[1]!.x.buffer);
    const last = chunks[10]!;
    expect(Array.from(last.x)).toEqual([1000, -1000, 1001, -1001, 1002, -1002]);
    expect(Array.from(last.y!)).toEqual([0, 1, 2]);
    const all = await readCsv(path, { labelColumn: 'label', chunkSize: 100 });
    expect(all.x.shape).toEqual([rows, 2]);
    expect(all.x.data[2 * 567]).toBe(567);
    expect(all.y![567]).toBe(7);
  });

  it('stops reading when the consumer stops', async () => {
    let text = 'a\n';
    for (let i = 0; i < 500; i++) text += `${i}\n`;
    const path = file('early.csv', text);
    for await (const c of readCsvChunks(path, { chunkSize: 10 })) {
      expect(c.rows).toBe(10);
      break;
    }
  });

  it('a row with the wrong number of columns: file, line and counts', async () => {
    const path = file('short.csv', 'a,b,c\n1,2,3\n\n4,5\n');
    await expect(readCsv(path)).rejects.toThrow(`readCsv: ${path} line 4: expected 3 columns, got 2`);
    const long = file('long.csv', 'a,b\n1,2\n3,4,5\n');
    await expect(readCsv(long)).rejects.toThrow(`readCsv: ${long} line 3: expected 2 columns, got 3`);
  });

  it('a non-numeric or empty cell: file, line, column and name', async () => {
    const path = file('nan.csv', 'a,b\n1,2\n3,abc\n');
    await expect(readCsv(path)).rejects.toThrow(`readCsv: ${path} line 3, column 2 ("b"): non-numeric cell "abc"`);
    const empty = file('empty-cell.csv', 'a,b\n1,\n');
    await expect(readCsv(empty)).rejects.toThrow(`readCsv: ${empty} line 2, column 2 ("b"): empty cell`);
    const label = file('bad-label.csv', 'x,y\n1,cat\n');
    await expect(readCsv(label, { labelColumn: 'y' })).rejects.toThrow(`line 2, column 2 ("y"): non-numeric cell "cat"`);
    // NaN spelled out is a value (a missing measurement), not an error.
    const nan = await readCsv(file('nan-literal.csv', 'a\nNaN\n'));
    expect(Number.isNaN(nan.x.data[0])).toBe(true);
  });

  it('a label column missing from the header, or out of range', async () => {
    const path = file('cols.csv', 'a,b\n1,2\n');
    await expect(readCsv(path, { labelColumn: 'target' })).rejects.toThrow(
      `readCsv: ${path}: label column "target" not found in the header (line 1); columns are "a", "b"`,
    );
    await expect(readCsv(path, { labelColumn: 2 })).rejects.toThrow(/labelColumn 2 is outside the 2 columns/);
    await expect(readCsv(path, { header: false, labelColumn: 'a' })).rejects.toThrow(/is a name, but header is false/);
  });

  it('maxLineBytes: a line without a break is refused, naming the file and the line', async () => {
    const path = file('one-line.csv', `a\n1\n${'7'.repeat(3 * 2 ** 20)}`);
    await expect(readCsv(path, { maxLineBytes: 2 ** 20 })).rejects.toThrow(
      new RegExp(`readCsv: ${path} line 3: line longer than maxLineBytes = 1048576 \\(\\d+ bytes without a line break so far\\)`),
    );
    // Inside one block too, and counted in bytes, not characters.
    const small = file('small-line.csv', 'a\n1\n"ééééé"\n');
    await expect(readCsv(small, { maxLineBytes: 11 })).rejects.toThrow(/line 3: line longer than maxLineBytes = 11 \(12 bytes/);
    await expect(readCsv(small, { maxLineBytes: 12 })).rejects.toThrow(/line 3, column 1 \("a"\): non-numeric cell/);
    await expect(readCsv(small, { maxLineBytes: 0 })).rejects.toThrow(/maxLineBytes must be a positive number, got 0/);
  });

  it('a line spanning several 1 MiB blocks is read whole, in linear time', async () => {
    // 3 MB of digits is one (huge) number; a UTF-8 character also straddles the block boundary.
    const digits = '1'.repeat(3 * 2 ** 20);
    const path = file('long-cell.csv', `a,b\n${digits},2\n${'é'.repeat(2 ** 19)}x,3\n`);
    const t = performance.now();
    await expect(readCsv(path)).rejects.toThrow(/line 3, column 1 \("a"\): non-numeric cell "éééé.*… \(524289 characters\)/);
    const ok = await readCsv(file('long-ok.csv', `a,b\n${digits},2\n5,6\n`));
    expect(Array.from(ok.x.data)).toEqual([Infinity, 2, 5, 6]);
    // Quadratic joining took ~14 s for 100 MB; this is generous for 3 MB on a busy machine.
    expect(performance.now() - t).toBeLessThan(5_000);
  });

  it('buffers are sized by what the file can hold, not by a wide header times chunkSize', async () => {
    // 20,000 columns and one row: 65,536 rows of room would be 5 GB.
    const cols = 20_000;
    const names = Array.from({ length: cols }, (_, i) => `c${i}`).join(',');
    const path = file('wide.csv', `${names}\n${new Array<string>(cols).fill('1').join(',')}\n`);
    const before = process.memoryUsage().arrayBuffers;
    const { x } = await readCsv(path);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
    expect(x.shape).toEqual([1, cols]);
    // Rows keep coming when the estimate is short (a file that grows, a pipe): the chunk grows.
    let text = 'a,b,c\n';
    for (let i = 0; i < 300; i++) text += `${i},${i},${i}\n`;
    const chunks: number[] = [];
    for await (const c of readCsvChunks(file('grow.csv', text), { chunkSize: 256 })) chunks.push(c.rows);
    expect(chunks).toEqual([256, 44]);
  });

  it('a row of many delimiters is counted without splitting it', async () => {
    const path = file('delims.csv', `a,b\n${'1,'.repeat(500_000)}1\n`);
    await expect(readCsv(path)).rejects.toThrow(`readCsv: ${path} line 2: expected 2 columns, got 500001`);
  });

  it('labels are present (empty) for an empty file without a header', async () => {
    const { x, y } = await readCsv(file('empty-label.csv', '\n\n'), { header: false, labelColumn: -1 });
    expect(x.shape).toEqual([0, 0]);
    expect(y).toEqual(new Float32Array(0));
  });

  it('a missing file, an empty file, bad options', async () => {
    const missing = join(dir, 'missing.csv');
    await expect(readCsv(missing)).rejects.toThrow(`readCsv: ${missing}: file not found`);
    const empty = file('empty.csv', '');
    await expect(readCsv(empty)).rejects.toThrow(/empty file, expected a header row/);
    expect((await readCsv(empty, { header: false })).x.shape).toEqual([0, 0]);
    const headOnly = await readCsv(file('head.csv', 'a,b\n'));
    expect(headOnly.x.shape).toEqual([0, 2]);
    expect(headOnly.columns).toEqual(['a', 'b']);
    await expect(readCsv(empty, { chunkSize: 0 })).rejects.toThrow(/chunkSize must be a positive integer, got 0/);
    await expect(readCsv(empty, { delimiter: '' })).rejects.toThrow(/delimiter must be a non-empty string/);
  });
});
