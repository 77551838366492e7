import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The newest checkpoint in `dir`, judged by the numbers in the file names (not modification
 * times, which copies and restores change), or `undefined` if there is none.
 *
 * `pattern` is a file-name template: each `{...}` placeholder (`{epoch}`, `{step}`,
 * `{epoch:03d}`, ...) matches a non-negative integer, `*` matches anything, and names are ranked
 * by their placeholder numbers compared left to right, so `ckpt-{epoch}-{step}.loom` orders by
 * epoch, then step. Without a pattern, any `*.loom` file whose name contains a number counts,
 * ranked by all the numbers in its name. Temporary files of an unfinished save never match.
 */
export async function findLatestCheckpoint(dir: string, pattern?: string): Promise<string | undefined> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const rank = pattern === undefined ? defaultRank : patternRank(pattern);
  let best: { name: string; key: bigint[] } | undefined;
  for (const name of names) {
    const key = rank(name);
    if (key === undefined) continue;
    // Ties (ckpt-07 and ckpt-7) go to the larger name, so the answer never depends on readdir order.
    const c = best === undefined ? 1 : compareKeys(key, best.key) || (name > best.name ? 1 : -1);
    if (c > 0) best = { name, key };
  }
  return best === undefined ? undefined : join(dir, best.name);
}

// BigInt so step counts beyond 2^53 (or zero-padded giants) still compare exactly.
type Rank = (name: string) => bigint[] | undefined;

function defaultRank(name: string): bigint[] | undefined {
  if (!name.endsWith('.loom')) return undefined;
  const numbers = name.slice(0, -'.loom'.length).match(/\d+/g);
  return numbers === null ? undefined : numbers.map((n) => BigInt(n));
}

function patternRank(pattern: string): Rank {
  let source = '';
  for (const part of pattern.split(/(\{[^{}]*\}|\*)/)) {
    if (part === '*') source += '.*?';
    else if (part.startsWith('{') && part.endsWith('}')) source += '(\\d+)';
    else source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`);
  return (name) => {
    const m = re.exec(name);
    return m === null ? undefined : m.slice(1).map((n) => BigInt(n));
  };
}

function compareKeys(a: bigint[], b: bigint[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] > b[i] ? 1 : -1;
  }
  return a.length - b.length;
}
