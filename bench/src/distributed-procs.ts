/**
 * Starting the distributed suite's child processes (distributed-child.ts): one per rank, with
 * torchrun's variables for a group on 127.0.0.1, each printing one JSON line.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AllReduceChildOptions, FitChildOptions, TcpChildOptions, TcpDuplexOptions } from './distributed-child.js';

/** The child runs built JavaScript; under tests (which import src/) it is in dist/. */
export function childPath(): string {
  const here = new URL(import.meta.url);
  return new URL(here.pathname.endsWith('.ts') ? '../dist/distributed-child.js' : './distributed-child.js', here).pathname;
}

/** A port that was free on 127.0.0.1 a moment ago (the OS's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const GROUP_VARS = ['WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOOM_DIST_TOKEN'];

/** This process's environment without torchrun's variables: a child that trains alone. */
export function soloEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of GROUP_VARS) delete out[k];
  return out;
}

/** Rank `rank`'s environment for a group of `worldSize` on this host, rendezvous at 127.0.0.1:`port`. */
export function groupEnv(rank: number, worldSize: number, port: number, token: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...soloEnv(env),
    WORLD_SIZE: String(worldSize), RANK: String(rank), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), LOOM_DIST_TOKEN: token,
    // A rank that fails to start must not leave the others waiting for the default 300 s.
    LOOM_RENDEZVOUS_TIMEOUT_S: '60',
  };
}

export type ChildSpec =
  | { mode: 'fit'; options: FitChildOptions; env: NodeJS.ProcessEnv }
  | { mode: 'allreduce'; options: AllReduceChildOptions; env: NodeJS.ProcessEnv }
  | { mode: 'tcp-send' | 'tcp-recv'; options: TcpChildOptions; env: NodeJS.ProcessEnv }
  | { mode: 'tcp-duplex'; options: TcpDuplexOptions; env: NodeJS.ProcessEnv };

/**
 * Starts every child at once and resolves to each one's last stdout line, parsed. When one fails
 * (or `timeoutMs` passes) the others are killed and the error carries the failure's stderr.
 */
export async function runChildren(specs: readonly ChildSpec[], timeoutMs: number): Promise<unknown[]> {
  const path = childPath();
  const children = specs.map((s) => spawn(process.execPath, [path, s.mode, JSON.stringify(s.options)], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const killAll = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  const timer = setTimeout(killAll, timeoutMs);
  try {
    return await Promise.all(children.map((child, i) => new Promise<unknown>((resolve, reject) => {
      let out = '', err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const what = `${specs[i]!.mode} child ${i} of ${specs.length}`;
        if (code !== 0) {
          killAll();
          const why = signal === 'SIGKILL' ? `killed (over ${timeoutMs / 1000} s, or another child failed)` : `exited with ${code ?? signal}`;
          reject(new Error(`${what} ${why}: ${err.trim().split('\n').slice(-8).join('\n') || '(no stderr)'}`));
          return;
        }
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
        } catch {
          reject(new Error(`${what} printed no JSON line: ${out.slice(-500)}`));
        }
      });
    })));
  } finally {
    clearTimeout(timer);
    killAll();
  }
}

/** A fresh token per group: the children prove it to each other, as every launch should. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}
