/** Shared by this package's tests: free ports, groups on loopback, references, an in-memory ring. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Frame, RingContext } from '../src/context.js';
import type { MessageType } from '../src/frame.js';
import { initProcessGroup, type GroupOptions, type ProcessGroup } from '../src/index.js';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** A port nobody listens on right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Collects `log` lines instead of printing them. */
export function logSink(): { lines: string[]; log: (m: string) => void } {
  const lines: string[] = [];
  return { lines, log: (m) => lines.push(m) };
}

export type Extra = Partial<Omit<GroupOptions, 'rank' | 'worldSize' | 'masterPort'>>;

/** Options for `rank` of `worldSize` on loopback. */
export function optionsFor(rank: number, worldSize: number, masterPort: number, extra: Extra = {}): GroupOptions {
  return { rank, worldSize, masterAddr: '127.0.0.1', masterPort, timeoutMs: 10_000, log: () => {}, ...extra };
}

/** `worldSize` groups in this process. */
export async function startGroups(worldSize: number, extra: Extra = {}): Promise<ProcessGroup[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: worldSize }, (_, r) => initProcessGroup(optionsFor(r, worldSize, port, extra))));
}

export async function closeAll(groups: ProcessGroup[]): Promise<void> {
  await Promise.all(groups.map((g) => g.close()));
}

/** Deterministic floats in [-1, 1) from a seed (a small LCG: tests need variety, not quality). */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 31 - 1;
  }
  return out;
}

export function float64Sum(arrays: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays[0]!.length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i]! += a[i]!;
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Whether two typed arrays hold the same bytes. */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * `size` contexts joined in a ring in memory: each send is copied and delivered to the right-hand
 * neighbour's queue after a random number of turns of the event loop (in order per link), so
 * the algorithms see frames interleave differently on every run.
 */
export function memoryRing(size: number, seed = 1): RingContext[] {
  const queues: Array<{ frames: Frame[]; waiter: ((f: Frame) => void) | null }> = [];
  for (let r = 0; r < size; r++) queues.push({ frames: [], waiter: null });
  let x = seed;
  const jitter = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % 3;
  };
  const lastDelivery: Array<Promise<void>> = Array.from({ length: size }, () => Promise.resolve());
  return queues.map((_, rank) => ({
    rank,
    size,
    send(type: MessageType, head: Uint8Array, body: Uint8Array | null): Promise<void> {
      const payload = Buffer.from(new ArrayBuffer(head.byteLength + (body?.byteLength ?? 0)));
      payload.set(head, 0);
      if (body !== null) payload.set(body, head.byteLength);
      const q = queues[(rank + 1) % size]!;
      const delay = jitter();
      const delivered = lastDelivery[rank]!.then(async () => {
        for (let i = 0; i < delay; i++) await new Promise((r) => setImmediate(r));
        const frame: Frame = { type, payload, release() {} };
        const w = q.waiter;
        q.waiter = null;
        if (w !== null) w(frame);
        else q.frames.push(frame);
      });
      lastDelivery[rank] = delivered;
      return delivered;
    },
    recv(): Promise<Frame> {
      const q = queues[rank]!;
      const f = q.frames.shift();
      if (f !== undefined) return Promise.resolve(f);
      return new Promise((resolve) => (q.waiter = resolve));
    },
  }));
}

/** Child processes import dist/: build it when missing or older than a source file. */
export function ensureBuilt(): void {
  const newest = (dir: string, keep: (name: string) => boolean) =>
    existsSync(dir) ? Math.max(0, ...readdirSync(dir).filter(keep).map((n) => statSync(join(dir, n)).mtimeMs)) : 0;
  const newestSource = newest(join(packageDir, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));
  const newestBuilt = newest(join(packageDir, 'dist'), (n) => n.endsWith('.js'));
  if (existsSync(join(packageDir, 'dist', 'index.js')) && newestBuilt >= newestSource) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: packageDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsc -b failed:\n${result.stdout}${result.stderr}`);
}

export interface Peer {
  child: import('node:child_process').ChildProcess;
  /** Resolves with the first event line of that name. */
  next(event: string): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Starts test/fixtures/peer.mjs as one rank in its own process (build dist/ first: `ensureBuilt`). */
export async function startPeer(options: GroupOptions & { length?: number }, mode: string): Promise<Peer> {
  const { spawn } = await import('node:child_process');
  const { log: _log, ...plain } = options;
  const child = spawn(process.execPath, [join(packageDir, 'test', 'fixtures', 'peer.mjs'), JSON.stringify(plain), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ event: string; resolve: (e: Record<string, unknown>) => void }> = [];
  let buffered = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
      buffered = buffered.slice(nl + 1);
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.event === e.event) w.resolve(e);
        else waiters.push(w);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    stderr: () => err,
    next(event) {
      const seen = events.findIndex((e) => e.event === event);
      if (seen >= 0) return Promise.resolve(events.splice(seen, 1)[0]!);
      return new Promise((resolve) => waiters.push({ event, resolve }));
    },
  };
}
