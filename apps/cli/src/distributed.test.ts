/**
 * `loom train` across processes, as the schedulers start it: only torchrun's environment
 * variables, real processes and sockets. Bad variables and a broken group fail before training;
 * two network namespaces stand in for two hosts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './testing.js';
import { loadModel } from '@loom/loom';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(appDir, 'bin', 'loom.js');
let tmp: string;
beforeAll(() => {
  ensureBuilt(['collective', 'coordinator', 'loom']);
  tmp = mkdtempSync(join(tmpdir(), 'loom-dist-cli-'));
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Runs `loom …args` with extra environment, optionally inside a network namespace. */
function loom(args: string[], env: Record<string, string>, netns?: string, timeoutMs = 120_000): Promise<Result> {
  const t0 = performance.now();
  const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, process.execPath, bin, ...args]] : [process.execPath, [bin, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: tmp, env: { ...process.env, WORLD_SIZE: '', RANK: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const SMALL = ['--limit', '500', '--epochs', '1', '--batch-size', '100', '--seed', '1', '--layers', '64'];

function rankEnv(rank: number, worldSize: number, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WORLD_SIZE: String(worldSize), RANK: String(rank), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), LOOM_DIST_TOKEN: 'cli-test-secret', LOOM_RENDEZVOUS_TIMEOUT_S: '20', ...extra,
  };
}

describe('bad group settings fail before training, naming what is wrong', () => {
  it('WORLD_SIZE that is not a positive integer', async () => {
    const r = await loom(['train', ...SMALL], { WORLD_SIZE: 'two', RANK: '0' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/WORLD_SIZE.*positive integer/);
    expect(r.stdout).not.toMatch(/Training/);
  });

  it('RANK not below WORLD_SIZE', async () => {
    const r = await loom(['train', ...SMALL], { ...rankEnv(2, 2, 29999) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/RANK=2 must be less than WORLD_SIZE=2/);
  });

  it('an unreachable MASTER_ADDR', async () => {
    const port = await freePort(); // nobody listens there
    const r = await loom(['train', ...SMALL], rankEnv(1, 2, port, { LOOM_RENDEZVOUS_TIMEOUT_S: '2' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/rendezvous timed out.*MASTER_ADDR/);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('a master port already in use', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await loom(['train', ...SMALL], rankEnv(0, 2, port));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`MASTER_PORT ${port} is already in use`));
    } finally {
      server.close();
    }
  });

  it('a rank that never comes', async () => {
    const r = await loom(['train', ...SMALL], rankEnv(0, 2, await freePort(), { LOOM_RENDEZVOUS_TIMEOUT_S: '2' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/rendezvous timed out after 2 s: rank\(s\) 1 did not join/);
  });

  it('ranks whose models differ', async () => {
    const port = await freePort();
    const [a, b] = await Promise.all([
      loom(['train', ...SMALL, '--checkpoint-dir', 'differ'], rankEnv(0, 2, port)),
      loom(['train', ...SMALL, '--layers', '32', '--checkpoint-dir', 'differ'], rankEnv(1, 2, port)),
    ]);
    for (const r of [a, b]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/rank 1 of 2 trains a different model/);
    }
    expect(existsSync(join(tmp, 'differ'))).toBe(false);
  }, 60_000);
});

/** Two "hosts": network namespaces joined by a veth pair, each with its own stack and address. */
function makeHosts(): { names: [string, string]; addresses: [string, string] } | string {
  const id = process.pid % 100_000;
  const names: [string, string] = [`loom-a-${id}`, `loom-b-${id}`];
  const veth: [string, string] = [`lva${id}`, `lvb${id}`];
  const addresses: [string, string] = ['10.231.7.1', '10.231.7.2'];
  const run = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
  };
  try {
    run('netns', 'add', names[0]);
  } catch (err) {
    return `network namespaces cannot be made here (${(err as Error).message})`;
  }
  try {
    run('netns', 'add', names[1]);
    run('link', 'add', veth[0], 'type', 'veth', 'peer', 'name', veth[1]);
    for (let i = 0; i < 2; i++) {
      run('link', 'set', veth[i]!, 'netns', names[i]!);
      run('-n', names[i]!, 'addr', 'add', `${addresses[i]}/24`, 'dev', veth[i]!);
      run('-n', names[i]!, 'link', 'set', veth[i]!, 'up');
      run('-n', names[i]!, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    deleteHosts(names);
    return `network namespaces cannot be joined here (${(err as Error).message})`;
  }
  return { names, addresses };
}

function deleteHosts(names: readonly string[]): void {
  // Deleting a namespace deletes the veth end inside it, and so the pair.
  for (const n of names) spawnSync('ip', ['netns', 'delete', n]);
}

describe('two hosts (network namespaces joined by a veth pair)', () => {
  it('train with only the environment variables; rank 0 alone checkpoints; weights match one process', async (ctx) => {
    const hosts = makeHosts();
    if (typeof hosts === 'string') {
      console.warn(`skipped: ${hosts}`);
      ctx.skip();
      return;
    }
    try {
      const port = '29517';
      const env = (rank: number) => ({
        WORLD_SIZE: '2', RANK: String(rank), LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '1',
        MASTER_ADDR: hosts.addresses[0], MASTER_PORT: port, LOOM_DIST_TOKEN: 'two-hosts-secret', LOOM_RENDEZVOUS_TIMEOUT_S: '30',
      });
      const args = (dir: string) => ['train', '--limit', '500', '--epochs', '1', '--batch-size', '100', '--seed', '1', '--workers', '1', '--checkpoint-dir', dir];
      const [a, b, single] = await Promise.all([
        loom(args('host-a'), env(0), hosts.names[0]),
        loom(args('host-b'), env(1), hosts.names[1]),
        loom(['train', '--limit', '500', '--epochs', '1', '--batch-size', '100', '--seed', '1', '--workers', '2', '--checkpoint-dir', 'single'], {}),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(single.code, single.stderr).toBe(0);
      expect(a.stdout).toMatch(/2 processes × 1 worker/);
      expect(b.stdout).toBe('');
      expect(readdirSync(join(tmp, 'host-a'))).toEqual(['ckpt-1.loom']);
      expect(existsSync(join(tmp, 'host-b'))).toBe(false);
      const [dist, one] = await Promise.all([loadModel(join(tmp, 'host-a', 'ckpt-1.loom')), loadModel(join(tmp, 'single', 'ckpt-1.loom'))]);
      let diff = 0;
      for (let i = 0; i < one.params.length; i++) diff = Math.max(diff, Math.abs(dist.params[i]! - one.params[i]!));
      expect(diff).toBeLessThan(1e-5);
    } finally {
      deleteHosts(hosts.names);
    }
  }, 180_000);
});

/** `loom launch …` in the temp folder; `watch` sees stderr as it arrives. */
function launch(args: string[], watch?: (stderr: string) => void, timeoutMs = 150_000): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'launch', ...args], { cwd: tmp, env: { ...process.env, WORLD_SIZE: '', RANK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; watch?.(stderr); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

/** The pids of the ranks the launcher said it started, by rank, per start of the group. */
function startedPids(stderr: string): number[][] {
  return [...stderr.matchAll(/loom launch: started \d+ ranks? \(([^)]*)\)/g)].map((m) => [...m[1]!.matchAll(/rank \d+ pid (\d+)/g)].map((p) => Number(p[1])));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('loom launch: a rank killed mid-run', () => {
  // 6,000 samples at batch 100: 60 steps an epoch, a few seconds each on two cores.
  const train = (dir: string, port: number) => [
    '--nproc-per-node', '2', '--master-port', String(port), '--grace-period', '5', '--',
    'train', '--limit', '6000', '--epochs', '4', '--batch-size', '100', '--layers', '128', '--seed', '3', '--workers', '1', '--checkpoint-dir', dir,
  ];
  let uninterrupted: Result;

  /** Runs the launch and sends rank 1 `signal` once the first epoch's checkpoint exists; returns the run and the time of the signal. */
  async function killRankOne(dir: string, extra: string[] = [], signal: NodeJS.Signals = 'SIGKILL'): Promise<{ run: Result; killedAt: number; pid: number }> {
    let killedAt = 0, pid = 0;
    const run = await launch([...extra, ...train(dir, await freePort())], (stderr) => {
      if (pid !== 0) return;
      const pids = startedPids(stderr)[0];
      if (!pids) return;
      const poll = setInterval(() => {
        if (!existsSync(join(tmp, dir, 'ckpt-1.loom'))) return;
        clearInterval(poll);
        killedAt = performance.now();
        process.kill(pids[1]!, signal);
      }, 10);
      pid = pids[1]!;
    });
    return { run, killedAt, pid };
  }

  it('ends the group within 30 s, naming the rank, and leaves no process behind', async () => {
    const { run, killedAt, pid } = await killRankOne('killed');
    const ended = performance.now();
    expect(killedAt).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`rank 1 (pid ${pid}) exited with signal SIGKILL`);
    expect(ended - killedAt).toBeLessThan(30_000);
    for (const p of startedPids(run.stderr).flat()) expect(alive(p)).toBe(false);
  }, 180_000);

  it('a rank that stops answering (SIGSTOP) ends the group within 30 s too, named by its peer', async () => {
    const { run, killedAt, pid } = await killRankOne('frozen', [], 'SIGSTOP');
    const ended = performance.now();
    expect(killedAt).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rank 1 stopped answering: no heartbeat for 15 s/);
    expect(run.stderr).toMatch(/loom launch: rank 0 \(pid \d+\) exited with code 1/);
    expect(ended - killedAt).toBeLessThan(30_000);
    for (const p of startedPids(run.stderr).flat()) expect(alive(p)).toBe(false);
    expect(alive(pid)).toBe(false);
  }, 180_000);

  it('with --max-restarts 1 resumes from the newest checkpoint and ends with the bits of a run never interrupted', async () => {
    const [restarted, clean] = await Promise.all([
      killRankOne('restarted', ['--max-restarts', '1']),
      launch(train('clean', await freePort())),
    ]);
    uninterrupted = clean;
    expect(clean.code, clean.stderr).toBe(0);
    expect(restarted.run.code, restarted.run.stderr).toBe(0);
    expect(restarted.run.stderr).toMatch(/restarting the group \(restart 1 of 1\)/);
    expect(restarted.run.stdout).toMatch(/Resuming from .*ckpt-\d\.loom \(restart 1 of the group\)/);
    const [a, b] = await Promise.all([loadModel(join(tmp, 'restarted', 'ckpt-4.loom')), loadModel(join(tmp, 'clean', 'ckpt-4.loom'))]);
    expect(Buffer.from(a.params.buffer, a.params.byteOffset, a.params.byteLength).equals(Buffer.from(b.params.buffer, b.params.byteOffset, b.params.byteLength))).toBe(true);
    expect(a.trainingHistory.history).toEqual(b.trainingHistory.history);
    for (const p of startedPids(restarted.run.stderr).flat()) expect(alive(p)).toBe(false);
  }, 240_000);

  it('leaves a checkpoint that one process resumes', async () => {
    expect(uninterrupted?.code).toBe(0);
    const r = await loom(['train', '--limit', '6000', '--epochs', '5', '--batch-size', '100', '--layers', '128', '--workers', '2', '--checkpoint-dir', 'clean', '--resume'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Resuming from .*ckpt-4\.loom: 4 epochs done/);
    expect(existsSync(join(tmp, 'clean', 'ckpt-5.loom'))).toBe(true);
  }, 120_000);
});

describe('loom launch: Ctrl-C', () => {
  it('stops every rank after the same batch, rank 0 saves, and --resume ends with the bits of a run never interrupted', async () => {
    const args = (dir: string, port: number, extra: string[] = []) => [
      '--nproc-per-node', '2', '--master-port', String(port), '--',
      'train', '--limit', '6000', '--epochs', '4', '--batch-size', '100', '--layers', '128', '--seed', '3', '--workers', '1', '--checkpoint-dir', dir, ...extra,
    ];
    let launcher = 0;
    const port = await freePort();
    const stopped = await new Promise<Result>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [bin, 'launch', ...args('ctrl-c', port)], { cwd: tmp, env: { ...process.env, WORLD_SIZE: '', RANK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      launcher = child.pid!;
      let stdout = '', stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      // Early in epoch 2: as soon as epoch 1's checkpoint is there (epoch 2 has 60 steps).
      const poll = setInterval(() => {
        if (!existsSync(join(tmp, 'ctrl-c', 'ckpt-1.loom'))) return;
        clearInterval(poll);
        process.kill(launcher, 'SIGINT');
      }, 5);
      child.on('error', reject);
      child.on('close', (code, signal) => { clearInterval(poll); resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
    });
    expect(stopped.code, stopped.stderr).toBe(130);
    // Normally inside epoch 2 ("1 epoch done, plus N batches"); on a loaded machine the stop can
    // land on the epoch's end, and the bits below must hold either way.
    expect(stopped.stderr).toMatch(/Interrupted: checkpoint saved to ctrl-c\/ckpt-2\.loom/);
    const resumed = await launch(args('ctrl-c', await freePort(), ['--resume']));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/Resuming from ctrl-c\/ckpt-2\.loom: (1 epoch done, plus \d+ batches of epoch 2|2 epochs done)/);
    const [a, b] = await Promise.all([loadModel(join(tmp, 'ctrl-c', 'ckpt-4.loom')), loadModel(join(tmp, 'clean', 'ckpt-4.loom'))]);
    expect(Buffer.from(a.params.buffer, a.params.byteOffset, a.params.byteLength).equals(Buffer.from(b.params.buffer, b.params.byteOffset, b.params.byteLength))).toBe(true);
    expect(a.trainingHistory.history).toEqual(b.trainingHistory.history);
  }, 180_000);
});
