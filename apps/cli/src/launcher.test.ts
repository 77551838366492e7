/**
 * `loom launch` with real processes. The ranks are small node scripts (written to a temp folder)
 * that record their environment or the signals they get, sleep, ignore SIGTERM, or fail on the
 * first start only; the launcher runs in this process where the test only watches it, and as a
 * process of its own where the test signals or kills it. One test runs the real `bin/loom.js`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './testing.js';
import { UsageError } from './errors.js';
import { LOOM_BIN, Launcher, rankEnvironment, resolveLaunchConfig, watchLauncher, type LaunchConfig, type LaunchFlags } from './launcher.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const distLauncher = join(appDir, 'dist', 'launcher.js');
let tmp: string;
let child: string;
let standalone: string;
let dirs = 0;

/** One script, many ranks: `child.mjs MODE OUT_DIR`. Every mode gives up after 20 s, so a failed test leaves nothing running for long. */
const CHILD = `
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [mode, out] = process.argv.slice(2);
const env = process.env;
const tag = env.RANK + '-' + env.TORCHELASTIC_RESTART_COUNT;
const ready = () => writeFileSync(join(out, 'ready-' + tag), String(process.pid));
const sleep = () => setTimeout(() => process.exit(0), 20000);
if (mode === 'env' || (mode === 'flaky' && env.TORCHELASTIC_RESTART_COUNT !== '0')) {
  writeFileSync(join(out, 'env-' + tag + '.json'), JSON.stringify({ ...env, ppid: process.ppid }));
} else if (mode === 'flaky') {
  process.exitCode = 1;
} else if (mode === 'sleep') {
  ready(); sleep();
} else if (mode === 'ignore-term') {
  process.on('SIGTERM', () => {}); ready(); sleep();
} else if (mode === 'ignore-all') {
  process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); ready(); sleep();
} else if (mode === 'signals') {
  // Records every signal, and stays 300 ms after the first so a second one would be seen.
  const record = (s) => { appendFileSync(join(out, 'signals-' + env.RANK), s + '\\n'); setTimeout(() => process.exit(0), 300); };
  process.on('SIGINT', record); process.on('SIGTERM', record); ready(); sleep();
} else if (mode === 'watch') {
  const { watchLauncher } = await import(process.env.LAUNCHER_URL);
  watchLauncher(); ready(); sleep();
} else {
  process.exitCode = 9;
}
`;

/** The launcher as a process of its own (`standalone.mjs FLAGS_JSON MODE OUT_DIR`), its ranks running child.mjs: written in beforeAll. */
function outDir(): string {
  const dir = join(tmp, `case-${++dirs}`);
  mkdirSync(dir);
  return dir;
}

function config(flags: LaunchFlags, command: string[], env: NodeJS.ProcessEnv = {}): LaunchConfig {
  return resolveLaunchConfig(flags, command, env);
}

/** Runs a launcher in this process with child.mjs ranks; `lines` fills as it logs. */
function launch(c: LaunchConfig, env: NodeJS.ProcessEnv = process.env) {
  const lines: string[] = [];
  const launcher = new Launcher(c, { program: [process.execPath, child], log: (l) => lines.push(l), handleSignals: false, env });
  return { lines, done: launcher.run(), launcher };
}

async function waitFor<T>(what: string, get: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The pids of the start line `loom launch: started … (rank 0 pid 123, rank 1 pid 124), …`, by rank. */
function startedPids(lines: string[], nth = 0): Map<number, number> {
  const line = lines.filter((l) => l.startsWith('loom launch: started'))[nth];
  if (!line) return new Map();
  return new Map([...line.matchAll(/rank (\d+) pid (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]));
}

/**
 * No such process (ESRCH). A rank orphaned by a SIGKILLed launcher is reparented to a pid 1 that
 * may never reap it, so there a zombie (state Z: it has exited) counts as gone too.
 */
function gone(pid: number, zombieCounts = false): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  if (!zombieCounts) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

function readyCount(dir: string): number {
  return readdirSync(dir).filter((f) => f.startsWith('ready-')).length;
}

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'loom-launch-'));
  child = join(tmp, 'child.mjs');
  standalone = join(tmp, 'standalone.mjs');
  writeFileSync(child, CHILD);
  writeFileSync(standalone, [
    `import { Launcher, resolveLaunchConfig } from ${JSON.stringify(pathToFileURL(distLauncher).href)};`,
    'const [flags, mode, out] = process.argv.slice(2);',
    `const launcher = new Launcher(resolveLaunchConfig(JSON.parse(flags), [mode, out]), { program: [process.execPath, ${JSON.stringify(child)}] });`,
    'process.exitCode = await launcher.run();',
  ].join('\n'));
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('resolveLaunchConfig', () => {
  it('has torchrun’s defaults, reads PET_* and lets flags win over them', () => {
    const c = config({ nprocPerNode: '2' }, ['train']);
    expect(c).toMatchObject({ nnodes: 1, nodeRank: 0, nprocPerNode: 2, masterAddr: '127.0.0.1', masterPort: 29500, maxRestarts: 0, gracePeriodMs: 10_000, command: ['train'] });
    expect(c.token).toMatch(/^[0-9a-f]{64}$/);
    expect(config({ nprocPerNode: '1' }, ['x']).token).not.toBe(c.token);

    const pet = { PET_NNODES: '3', PET_NODE_RANK: '2', PET_NPROC_PER_NODE: '4', PET_MASTER_ADDR: 'trainer-0.svc', PET_MASTER_PORT: '1234', PET_MAX_RESTARTS: '5', LOOM_DIST_TOKEN: 's3cret' };
    expect(config({}, ['train'], pet)).toMatchObject({ nnodes: 3, nodeRank: 2, nprocPerNode: 4, masterAddr: 'trainer-0.svc', masterPort: 1234, maxRestarts: 5, token: 's3cret' });
    expect(config({ nnodes: '2', nodeRank: '1', nprocPerNode: '1', masterAddr: 'h', masterPort: '80', maxRestarts: '0', gracePeriod: '0.5' }, ['train'], pet))
      .toMatchObject({ nnodes: 2, nodeRank: 1, nprocPerNode: 1, masterAddr: 'h', masterPort: 80, maxRestarts: 0, gracePeriodMs: 500 });
    // Kubeflow's forms: 'auto' (one Loom process per machine) and a fixed MIN:MAX.
    expect(config({}, ['x'], { PET_NPROC_PER_NODE: 'auto', PET_NNODES: '2:2', LOOM_DIST_TOKEN: 't' })).toMatchObject({ nprocPerNode: 1, nnodes: 2 });
  });

  it('rejects bad values with the flag or variable and what it expects', () => {
    const cases: [LaunchFlags, NodeJS.ProcessEnv, RegExp][] = [
      [{ nprocPerNode: '0' }, {}, /--nproc-per-node must be a positive integer \(or 'auto'.*got '0'/],
      [{}, { PET_NPROC_PER_NODE: 'two' }, /PET_NPROC_PER_NODE must be a positive integer.*got 'two'/],
      [{}, {}, /needs --nproc-per-node N \(or PET_NPROC_PER_NODE\)/],
      [{ nprocPerNode: '1', nnodes: '1.5' }, {}, /--nnodes must be a positive integer, got '1\.5'/],
      [{ nprocPerNode: '1' }, { PET_NNODES: '-1' }, /PET_NNODES must be a positive integer, got '-1'/],
      [{ nprocPerNode: '1' }, { PET_NNODES: '1:4' }, /PET_NNODES '1:4' is an elastic range/],
      [{ nprocPerNode: '1', nnodes: '2', nodeRank: '2' }, { LOOM_DIST_TOKEN: 't' }, /--node-rank must be less than the number of nodes \(2, from --nnodes\), got '2'/],
      [{ nprocPerNode: '1' }, { PET_NODE_RANK: '1' }, /PET_NODE_RANK must be less than the number of nodes \(1, from the default\)/],
      [{ nprocPerNode: '1', masterPort: '65536' }, {}, /--master-port must be a port number from 1 to 65535, got '65536'/],
      [{ nprocPerNode: '1' }, { PET_MASTER_PORT: '0' }, /PET_MASTER_PORT must be a port number from 1 to 65535, got '0'/],
      [{ nprocPerNode: '1', masterAddr: 'a b' }, {}, /--master-addr must be a host name or address, got 'a b'/],
      [{ nprocPerNode: '1' }, { PET_MAX_RESTARTS: 'x' }, /PET_MAX_RESTARTS must be a whole number from 0, got 'x'/],
      [{ nprocPerNode: '1', gracePeriod: '-1' }, {}, /--grace-period must be a number of seconds from 0 to 3600, got '-1'/],
      [{ nprocPerNode: '1', nnodes: '2' }, {}, /LOOM_DIST_TOKEN must be set to the same secret on every node .*Kubernetes Secret/],
    ];
    for (const [flags, env, message] of cases) {
      expect(() => config(flags, ['train'], env), JSON.stringify({ flags, env })).toThrow(message);
    }
    expect(() => config({ nprocPerNode: '1' }, [])).toThrow(UsageError);
    expect(() => config({ nprocPerNode: '1' }, [])).toThrow(/needs the loom command every rank runs after --/);
  });
});

describe('Launcher', () => {
  it('gives every rank torchrun’s environment (2 ranks of node 1 of 2)', async () => {
    const dir = outDir();
    const c = config({ nnodes: '2', nodeRank: '1', nprocPerNode: '2', masterAddr: 'head.local', masterPort: '4321', maxRestarts: '3' }, ['env', dir], { LOOM_DIST_TOKEN: 'tok' });
    const { lines, done } = launch(c, { ...process.env, LOOM_DIST_TOKEN: 'tok' });
    expect(await done).toBe(0);
    const pids = startedPids(lines);
    expect(lines[0]).toMatch(/^loom launch: started 2 ranks \(rank 2 pid \d+, rank 3 pid \d+\), restart 0 of 3$/);
    for (const localRank of [0, 1]) {
      const rank = 2 + localRank;
      const env = JSON.parse(readFileSync(join(dir, `env-${rank}-0.json`), 'utf8'));
      expect(env).toMatchObject({
        WORLD_SIZE: '4', RANK: String(rank), LOCAL_RANK: String(localRank), LOCAL_WORLD_SIZE: '2', GROUP_RANK: '1', GROUP_WORLD_SIZE: '2',
        ROLE_NAME: 'default', ROLE_RANK: String(rank), ROLE_WORLD_SIZE: '4', MASTER_ADDR: 'head.local', MASTER_PORT: '4321',
        TORCHELASTIC_RESTART_COUNT: '0', TORCHELASTIC_MAX_RESTARTS: '3', LOOM_DIST_TOKEN: 'tok', LOOM_LAUNCHER_PID: String(process.pid),
        ppid: process.pid,
      });
      expect(pids.get(rank)).toBeGreaterThan(0);
    }
    expect(rankEnvironment(c, 1, 2, 77)).toMatchObject({ RANK: '3', TORCHELASTIC_RESTART_COUNT: '2', LOOM_LAUNCHER_PID: '77' });
  });

  it('reads PET_* (flags win) and gives a one-machine group a random token, the same for every rank', async () => {
    const dir = outDir();
    const pet = { PET_NPROC_PER_NODE: '2', PET_MASTER_PORT: '1111', PET_MASTER_ADDR: 'from-pet', PET_MAX_RESTARTS: '2' };
    const c = config({ masterPort: '2222' }, ['env', dir], pet);
    const { done } = launch(c, { ...process.env, ...pet, LOOM_DIST_TOKEN: '' });
    expect(await done).toBe(0);
    const envs = [0, 1].map((r) => JSON.parse(readFileSync(join(dir, `env-${r}-0.json`), 'utf8')));
    for (const env of envs) {
      expect(env).toMatchObject({ WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'from-pet', MASTER_PORT: '2222', TORCHELASTIC_MAX_RESTARTS: '2' });
      expect(env.LOOM_DIST_TOKEN).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(envs[1].LOOM_DIST_TOKEN).toBe(envs[0].LOOM_DIST_TOKEN);
  });

  it('a rank killed with SIGKILL ends the group: exit 1, the rank and pid named, no process left', async () => {
    const dir = outDir();
    const started = Date.now();
    const { lines, done } = launch(config({ nprocPerNode: '2' }, ['sleep', dir]));
    await waitFor('both ranks', () => readyCount(dir) === 2);
    const pids = startedPids(lines);
    process.kill(pids.get(1)!, 'SIGKILL');
    expect(await done).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(lines).toContain(`loom launch: rank 1 (pid ${pids.get(1)}) exited with signal SIGKILL`);
    expect(lines.at(-1)).toBe('loom launch: no restarts left (--max-restarts 0); exiting with code 1');
    for (const pid of pids.values()) expect(gone(pid), `pid ${pid}`).toBe(true);
  });

  it('a rank that ignores SIGTERM is killed after the grace period', async () => {
    const dir = outDir();
    const { lines, done } = launch(config({ nprocPerNode: '2', gracePeriod: '1' }, ['ignore-term', dir]));
    await waitFor('both ranks', () => readyCount(dir) === 2);
    const pids = startedPids(lines);
    process.kill(pids.get(0)!, 'SIGKILL');
    const killed = Date.now();
    expect(await done).toBe(1);
    expect(Date.now() - killed).toBeGreaterThanOrEqual(900);
    expect(lines).toContain(`loom launch: rank 0 (pid ${pids.get(0)}) exited with signal SIGKILL`);
    expect(lines).toContain(`loom launch: rank 1 (pid ${pids.get(1)}) still running 1 s after SIGTERM; sending SIGKILL`);
    for (const pid of pids.values()) expect(gone(pid), `pid ${pid}`).toBe(true);
  });

  it('--max-restarts 1 restarts the group once, with TORCHELASTIC_RESTART_COUNT=1', async () => {
    const dir = outDir();
    const { lines, done } = launch(config({ nprocPerNode: '2', maxRestarts: '1' }, ['flaky', dir]));
    expect(await done).toBe(0);
    expect(lines[0]).toMatch(/^loom launch: started 2 ranks \(.*\), restart 0 of 1$/);
    expect(lines).toContainEqual(expect.stringMatching(/^loom launch: rank [01] \(pid \d+\) exited with code 1$/));
    expect(lines).toContain('loom launch: restarting the group (restart 1 of 1)');
    expect(lines.at(-1)).toMatch(/^loom launch: started 2 ranks \(.*\), restart 1 of 1$/);
    for (const r of [0, 1]) {
      expect(JSON.parse(readFileSync(join(dir, `env-${r}-1.json`), 'utf8'))).toMatchObject({ TORCHELASTIC_RESTART_COUNT: '1', TORCHELASTIC_MAX_RESTARTS: '1' });
    }
    // Without restarts the same ranks fail the launch.
    const again = launch(config({ nprocPerNode: '1' }, ['flaky', outDir()]));
    expect(await again.done).toBe(1);
  });

  it('a program that cannot be started is a failed rank', async () => {
    const lines: string[] = [];
    const launcher = new Launcher(config({ nprocPerNode: '2' }, ['x']), { program: [join(tmp, 'no-such-program')], log: (l) => lines.push(l), handleSignals: false });
    expect(await launcher.run()).toBe(1);
    expect(lines).toContainEqual(expect.stringMatching(/^loom launch: rank 0 could not be started: .*ENOENT/));
  });
});

/** Starts standalone.mjs (a launcher process) and collects its stderr. */
function standaloneLauncher(flags: LaunchFlags, mode: string, dir: string) {
  const p = spawn(process.execPath, [standalone, JSON.stringify(flags), mode, dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LAUNCHER_URL: pathToFileURL(distLauncher).href },
  });
  const lines: string[] = [];
  let buffer = '';
  p.stderr.setEncoding('utf8').on('data', (s: string) => {
    buffer += s;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => p.on('exit', (code, signal) => resolve([code, signal])));
  // Its ranks share its stderr: 'close' comes once they are gone too.
  const closed = new Promise<void>((resolve) => p.on('close', () => resolve()));
  return { p, lines, exit, closed };
}

describe('signals to the launcher', () => {
  it('SIGINT and SIGTERM are passed on once, and the launcher exits 130 or 143 without restarting', async () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const dir = outDir();
      const l = standaloneLauncher({ nprocPerNode: '2', maxRestarts: '2' }, 'signals', dir);
      await waitFor('both ranks', () => readyCount(dir) === 2);
      l.p.kill(signal);
      expect(await l.exit).toEqual([code, null]);
      for (const r of [0, 1]) expect(readFileSync(join(dir, `signals-${r}`), 'utf8'), `rank ${r}`).toBe(`${signal}\n`);
      expect(l.lines.filter((s) => s.includes('restarting'))).toEqual([]);
      for (const pid of startedPids(l.lines).values()) expect(gone(pid), `pid ${pid}`).toBe(true);
    }
  });

  it('a second SIGINT kills ranks that ignore the first', async () => {
    const dir = outDir();
    const l = standaloneLauncher({ nprocPerNode: '2', gracePeriod: '60' }, 'ignore-all', dir);
    await waitFor('both ranks', () => readyCount(dir) === 2);
    l.p.kill('SIGINT');
    await waitFor('the first SIGINT to be seen', () => l.lines.some((s) => s.includes('SIGINT: passing it to the ranks')));
    l.p.kill('SIGINT');
    expect(await l.exit).toEqual([130, null]);
    expect(l.lines).toContain('loom launch: SIGINT again: killing the ranks (SIGKILL)');
    for (const pid of startedPids(l.lines).values()) expect(gone(pid), `pid ${pid}`).toBe(true);
  });

  it('ranks of a launcher killed with SIGKILL exit on their own within a few seconds (watchLauncher)', async () => {
    const dir = outDir();
    const l = standaloneLauncher({ nprocPerNode: '2' }, 'watch', dir);
    await waitFor('both ranks', () => readyCount(dir) === 2);
    const pids = [...startedPids(l.lines).values()];
    expect(pids).toHaveLength(2);
    l.p.kill('SIGKILL');
    expect(await l.exit).toEqual([null, 'SIGKILL']);
    await waitFor('the orphaned ranks to exit', () => pids.every((pid) => gone(pid, true)), 5_000);
    await l.closed;
    const pid = l.p.pid;
    expect(l.lines.filter((s) => s === `loom: error: the launcher (pid ${pid}) that started this rank is gone; exiting`)).toHaveLength(2);
  });
});

describe('watchLauncher', () => {
  it('does nothing while the parent is the launcher, and takes the variable out of the environment', () => {
    const env: NodeJS.ProcessEnv = { LOOM_LAUNCHER_PID: String(process.ppid) };
    let calls = 0;
    const stop = watchLauncher({ env, onGone: () => calls++ });
    stop();
    expect(calls).toBe(0);
    expect(env.LOOM_LAUNCHER_PID).toBeUndefined();
    expect(watchLauncher({ env: {}, onGone: () => calls++ })).toBeTypeOf('function');
    expect(calls).toBe(0);
  });

  it('calls onGone at once when the parent is not the launcher', () => {
    const gonePids: number[] = [];
    watchLauncher({ env: { LOOM_LAUNCHER_PID: '999999999' }, onGone: (pid) => gonePids.push(pid) });
    expect(gonePids).toEqual([999999999]);
  });
});

describe('the loom command', () => {
  function loom(args: string[], env: NodeJS.ProcessEnv = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [LOOM_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_DIST_TOKEN: '', ...env } });
      let stdout = '', stderr = '';
      p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('bin/loom.js launch runs the real loom.js in every rank', async () => {
    const { version } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { version: string };
    const ok = await loom(['launch', '--nproc-per-node', '2', '--', '--version']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${version}\n${version}\n`);
    expect(ok.stderr).toMatch(/^loom launch: started 2 ranks \(rank 0 pid \d+, rank 1 pid \d+\), restart 0 of 0\n$/);

    const failing = await loom(['launch', '--nproc-per-node', '2', 'inspect', join(tmp, 'missing.loom')]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/loom launch: rank [01] \(pid \d+\) exited with code 1/);
  });

  it('--help lists launch and shows its examples', async () => {
    const [program, help] = await Promise.all([loom(['--help']), loom(['launch', '--help'])]);
    expect(program.stdout).toMatch(/\n  launch \[options\] \[command\.\.\.\]\s+run N ranks/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: loom launch \[options\] -- <command>/);
    expect(help.stdout).toContain('loom launch --nproc-per-node 2 -- train --epochs 3 --workers 1');
    expect(help.stdout).toContain('--nnodes 2 --node-rank 1');
    expect(help.stdout).toContain('PET_NNODES, PET_NODE_RANK, PET_NPROC_PER_NODE');
  });

  it('usage errors exit 2 with one line naming the flag or variable', async () => {
    for (const [args, env, message] of [
      [['launch', '--nproc-per-node', '2'], {}, /needs the loom command every rank runs after --/],
      [['launch', '--nproc-per-node', '0', '--', 'train'], {}, /--nproc-per-node must be a positive integer/],
      [['launch', '--', 'train'], { PET_NPROC_PER_NODE: 'x' }, /PET_NPROC_PER_NODE must be a positive integer/],
      [['launch', '--nnodes', '2', '--nproc-per-node', '1', '--', 'train'], {}, /LOOM_DIST_TOKEN must be set/],
    ] as [string[], NodeJS.ProcessEnv, RegExp][]) {
      const r = await loom(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^loom: error: .*${message.source}.*\\n$`));
    }
  });

  it('a loom process whose LOOM_LAUNCHER_PID is not its parent exits with one line (main.ts calls watchLauncher)', async () => {
    const orphan = await loom(['--version'], { LOOM_LAUNCHER_PID: '999999999' });
    expect(orphan.code).toBe(1);
    expect(orphan.stdout).toBe('');
    expect(orphan.stderr).toBe('loom: error: the launcher (pid 999999999) that started this rank is gone; exiting\n');
    const child = await loom(['--version'], { LOOM_LAUNCHER_PID: String(process.pid) });
    expect(child.code).toBe(0);
  });
});
