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
