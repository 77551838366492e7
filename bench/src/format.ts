/** Number formatting and tables, for the console and for BENCHMARKS.md. */

/** A table as shown: column headers and rows of already formatted cells. */
export interface Table {
  columns: string[];
  rows: string[][];
}

/**
 * `value` with about `digits` significant digits and thousands separators, without an exponent
 * (benchmark figures span 1e-3 to 1e6 and people read them side by side).
 */
export function fmt(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, Math.min(6, digits - 1 - magnitude));
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio as `2.41×`. */
export function fmtRatio(value: number | null | undefined): string {
  const s = fmt(value, 3);
  return s === '–' ? s : `${s}×`;
}

/** A fraction as `97.3%` (or with more `decimals`). */
export function fmtPercent(value: number | null | undefined, decimals = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return `${(value * 100).toFixed(decimals)}%`;
}

/** Text cells that look numeric are right-aligned, the rest left-aligned. */
function isNumeric(cell: string): boolean {
  return /^[-+]?[\d,.]+(×|%| ?[a-zA-Z/]+)?$/.test(cell) || cell === '–';
}

/** The table as aligned plain text, for the terminal. */
export function textTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (isNumeric(c) && cells !== table.columns ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of table.rows) out.push(line(r));
  return out.join('\n');
}

/** The table in GitHub Markdown, numeric columns right-aligned. */
export function markdownTable(table: Table): string {
  const numericColumn = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((r) => isNumeric(r[i] ?? '')));
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    `| ${table.columns.map(esc).join(' | ')} |`,
    `| ${numericColumn.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of table.rows) out.push(`| ${table.columns.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`);
  return out.join('\n');
}
