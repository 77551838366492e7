/**
 * `loom launch`: torchrun's launcher contract for Loom. It reads the group's shape from flags or
 * Kubeflow's `PET_*` variables, starts this machine's ranks with torchrun's environment, stops
 * the whole group when one rank fails (SIGTERM, then SIGKILL after a grace period), restarts it
 * up to `--max-restarts` times, and passes SIGINT/SIGTERM on. `watchLauncher` is the ranks' half:
 * a rank whose launcher died exits instead of running on alone.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { EXIT, UsageError, signalExitCode } from './errors.js';

/** bin/loom.js, what every rank runs by default (the same path from src/ and from dist/). */
export const LOOM_BIN = fileURLToPath(new URL('../bin/loom.js', import.meta.url));
export const DEFAULT_MASTER_ADDR = '127.0.0.1';
export const DEFAULT_MASTER_PORT = 29500;
export const DEFAULT_GRACE_PERIOD_S = 10;
/** setTimeout fires at once past 2^31 ms; an hour is more than any checkpoint write needs. */
const MAX_GRACE_PERIOD_S = 3600;
/** The variable through which a rank learns its launcher's pid (`watchLauncher`). */
export const LAUNCHER_PID_VARIABLE = 'LOOM_LAUNCHER_PID';
const TOKEN_VARIABLE = 'LOOM_DIST_TOKEN';
const WATCH_INTERVAL_MS = 1000;

/** The launcher's settings as typed on the command line (commander gives strings); unset ones fall back to `PET_*`. */
export interface LaunchFlags {
  nnodes?: string;
  nodeRank?: string;
  nprocPerNode?: string;
  masterAddr?: string;
  masterPort?: string;
  maxRestarts?: string;
  gracePeriod?: string;
}

/** A checked launch: the group's shape, where it meets, the fault policy and the command every rank runs. */
export interface LaunchConfig {
  nnodes: number;
  nodeRank: number;
  nprocPerNode: number;
  masterAddr: string;
  masterPort: number;
  maxRestarts: number;
  gracePeriodMs: number;
  /** `LOOM_DIST_TOKEN` for the ranks: the caller's, or a fresh random one for a one-machine group. */
  token: string;
  /** The loom command and its options (what follows `--`). */
  command: string[];
}

/** Each setting's flag and, as torchrun reads them, its `PET_*` variable (Kubeflow sets those). */
const SOURCES: Record<keyof LaunchFlags, { flag: string; variable?: string }> = {
  nnodes: { flag: '--nnodes', variable: 'PET_NNODES' },
  nodeRank: { flag: '--node-rank', variable: 'PET_NODE_RANK' },
  nprocPerNode: { flag: '--nproc-per-node', variable: 'PET_NPROC_PER_NODE' },
  masterAddr: { flag: '--master-addr', variable: 'PET_MASTER_ADDR' },
  masterPort: { flag: '--master-port', variable: 'PET_MASTER_PORT' },
  maxRestarts: { flag: '--max-restarts', variable: 'PET_MAX_RESTARTS' },
  gracePeriod: { flag: '--grace-period' },
};

const WHOLE = /^\+?\d+$/;
const NUMBER = /^\+?(\d+\.?\d*|\.\d+)$/;

/**
 * Merges `flags` over the `PET_*` variables of `env` and the defaults, checks every value, and
 * settles the token. Throws a UsageError (exit code 2) naming the flag or variable at fault.
 */
export function resolveLaunchConfig(flags: LaunchFlags, command: readonly string[], env: NodeJS.ProcessEnv = process.env): LaunchConfig {
  const given = (key: keyof LaunchFlags): { raw: string; from: string } | undefined => {
    const { flag, variable } = SOURCES[key];
    if (flags[key] !== undefined) return { raw: flags[key], from: flag };
    const value = variable === undefined ? undefined : env[variable];
    // An empty variable counts as unset, as `VAR= cmd` means in a shell.
    return value === undefined || value === '' ? undefined : { raw: value, from: variable! };
  };
  const check = (g: { raw: string; from: string }, min: number, max: number, expected: string, raw = g.raw): number => {
    const n = WHOLE.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${g.from} must be ${expected}, got '${g.raw}'`);
    return n;
  };
  const whole = (key: keyof LaunchFlags, fallback: number, min: number, expected: string, max = Number.MAX_SAFE_INTEGER): number => {
    const g = given(key);
    return g === undefined ? fallback : check(g, min, max, expected);
  };

  const nnodesGiven = given('nnodes');
  // torchrun's MIN:MAX form (Kubeflow writes it for elastic jobs): Loom's groups have a fixed size.
  const range = nnodesGiven && /^\s*([^:]*):([^:]*)$/.exec(nnodesGiven.raw);
  if (range && range[1].trim() !== range[2].trim()) {
    throw new UsageError(`${nnodesGiven.from} '${nnodesGiven.raw}' is an elastic range; loom launch needs a fixed number of nodes (one number, or MIN:MAX with MIN = MAX)`);
  }
  const nnodes = nnodesGiven === undefined ? 1 : check(nnodesGiven, 1, Number.MAX_SAFE_INTEGER, 'a positive integer', range ? range[1] : nnodesGiven.raw);

  const nodeRank = whole('nodeRank', 0, 0, 'a whole number from 0');
  if (nodeRank >= nnodes) {
    const g = given('nodeRank')!;
    throw new UsageError(`${g.from} must be less than the number of nodes (${nnodes}, from ${given('nnodes')?.from ?? 'the default'}), got '${g.raw}'`);
  }

  const nproc = given('nprocPerNode');
  if (nproc === undefined) throw new UsageError('loom launch needs --nproc-per-node N (or PET_NPROC_PER_NODE): how many ranks to start on this machine');
  // torchrun's 'auto' means a process per GPU or per core; a Loom process already uses every core
  // with its worker threads, so 'auto' is one process per machine.
  const nprocPerNode = nproc.raw.trim() === 'auto' ? 1 : check(nproc, 1, Number.MAX_SAFE_INTEGER, "a positive integer (or 'auto', one per machine)");

  const addr = given('masterAddr');
  const masterAddr = addr === undefined ? DEFAULT_MASTER_ADDR : addr.raw.trim();
  if (addr && (masterAddr === '' || /\s/.test(masterAddr))) throw new UsageError(`${addr.from} must be a host name or address, got '${addr.raw}'`);
  const masterPort = whole('masterPort', DEFAULT_MASTER_PORT, 1, 'a port number from 1 to 65535', 65535);
  const maxRestarts = whole('maxRestarts', 0, 0, 'a whole number from 0');

  const grace = given('gracePeriod');
  const gracePeriodS = grace === undefined ? DEFAULT_GRACE_PERIOD_S : NUMBER.test(grace.raw.trim()) ? Number(grace.raw) : NaN;
  if (!(gracePeriodS >= 0 && gracePeriodS <= MAX_GRACE_PERIOD_S)) {
    throw new UsageError(`${grace!.from} must be a number of seconds from 0 to ${MAX_GRACE_PERIOD_S}, got '${grace!.raw}'`);
  }

  if (command.length === 0) {
    throw new UsageError('loom launch needs the loom command every rank runs after --, e.g. loom launch --nproc-per-node 2 -- train --epochs 3 --workers 1');
  }

  let token = env[TOKEN_VARIABLE] ?? '';
  if (token === '') {
    if (nnodes > 1) {
      throw new UsageError(`${TOKEN_VARIABLE} must be set to the same secret on every node of a ${nnodes}-node group (e.g. from a Kubernetes Secret); the ranks use it to prove they belong to the group`);
    }
    // One machine: no one else needs to know it, so a fresh one still keeps other local users out.
    token = randomBytes(32).toString('hex');
  }
  return { nnodes, nodeRank, nprocPerNode, masterAddr, masterPort, maxRestarts, gracePeriodMs: gracePeriodS * 1000, token, command: [...command] };
}

/** torchrun's environment for local rank `localRank` of this node, at restart `restartCount`. */
export function rankEnvironment(config: LaunchConfig, localRank: number, restartCount: number, launcherPid: number = process.pid): Record<string, string> {
  const worldSize = config.nnodes * config.nprocPerNode;
  const rank = config.nodeRank * config.nprocPerNode + localRank;
  return {
    WORLD_SIZE: String(worldSize),
    RANK: String(rank),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(config.nprocPerNode),
    GROUP_RANK: String(config.nodeRank),
    GROUP_WORLD_SIZE: String(config.nnodes),
    // One role, as torchrun runs a plain script: role ranks are the global ranks.
    ROLE_NAME: 'default',
    ROLE_RANK: String(rank),
    ROLE_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: config.masterAddr,
    MASTER_PORT: String(config.masterPort),
    TORCHELASTIC_RESTART_COUNT: String(restartCount),
    TORCHELASTIC_MAX_RESTARTS: String(config.maxRestarts),
    [TOKEN_VARIABLE]: config.token,
    [LAUNCHER_PID_VARIABLE]: String(launcherPid),
  };
}

/** `child_process.spawn`'s shape, so tests can wrap it. */
export type SpawnFunction = (file: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface LauncherOptions {
  /** What each rank runs before the config's command: default `[process.execPath, LOOM_BIN]`. */
  program?: readonly [string, ...string[]];
  spawn?: SpawnFunction;
  /** The environment the ranks' own is added to (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Where the launcher's lines go (default stderr); each call is one line without its newline. */
  log?: (line: string) => void;
  /** Listen for SIGINT and SIGTERM while running (default true); `signal()` does the same by hand. */
  handleSignals?: boolean;
}

/** Runs this machine's ranks of a launch until they all succeed, the restarts run out, or a signal stops it. */
export class Launcher {
  private readonly program: readonly [string, ...string[]];
  private readonly spawn: SpawnFunction;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  private readonly handleSignals: boolean;
  private group: RankGroup | undefined;
  private signals = 0;
  private stoppedBy: NodeJS.Signals | undefined;

  constructor(readonly config: LaunchConfig, options: LauncherOptions = {}) {
    this.program = options.program ?? [process.execPath, LOOM_BIN];
    this.spawn = options.spawn ?? nodeSpawn;
    this.env = options.env ?? process.env;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.handleSignals = options.handleSignals ?? true;
  }

  /** Resolves with the launcher's exit code: 0, 1 (a rank failed, no restarts left), or 128 + signal. */
  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals) => this.signal(signal);
    if (this.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    try {
      for (let restart = 0; ; restart++) {
        if (this.stoppedBy) return signalExitCode(this.stoppedBy);
        this.group = new RankGroup(this.config, restart, (localRank) => this.start(localRank, restart), this.log);
        const ok = await this.group.ended;
        this.group = undefined;
        if (this.stoppedBy) return signalExitCode(this.stoppedBy);
        if (ok) return EXIT.ok;
        if (restart >= this.config.maxRestarts) {
          this.log(`loom launch: no restarts left (--max-restarts ${this.config.maxRestarts}); exiting with code ${EXIT.runtime}`);
          return EXIT.runtime;
        }
        this.log(`loom launch: restarting the group (restart ${restart + 1} of ${this.config.maxRestarts})`);
      }
    } finally {
      if (this.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
  }

  /**
   * SIGINT/SIGTERM to the launcher: the first is passed on to every rank once (each rank is in
   * its own session, so a Ctrl-C reaches it only this way, and a rank saving a checkpoint on its
   * first signal does not get a second one from the terminal); the next one kills them.
   */
  signal(signal: NodeJS.Signals): void {
    this.signals++;
    this.stoppedBy ??= signal;
    if (!this.group) return;
    if (this.signals === 1 && this.group.stopping) {
      // They have their SIGTERM already; a second signal would make a rank quit without saving.
      this.log(`loom launch: ${signal}: the ranks are already stopping; no restart (a second Ctrl-C kills them)`);
      this.group.stop(signal, true);
    } else if (this.signals === 1) {
      this.log(`loom launch: ${signal}: passing it to the ranks (a second Ctrl-C kills them)`);
      this.group.stop(signal, true);
    } else {
      this.log(`loom launch: ${signal} again: killing the ranks (SIGKILL)`);
      this.group.kill();
    }
  }

  private start(localRank: number, restart: number): ChildProcess {
    const [file, ...args] = this.program;
    return this.spawn(file, [...args, ...this.config.command], {
      stdio: 'inherit',
      env: { ...this.env, ...rankEnvironment(this.config, localRank, restart) },
      // A new session per rank: the terminal's Ctrl-C goes to the launcher alone, which passes
      // it on once (see signal()); a rank left alone by a dead launcher still ends (watchLauncher).
      detached: true,
    });
  }
}

interface RankProcess {
  rank: number;
  child: ChildProcess | undefined;
  running: boolean;
}

/** One start of this machine's ranks: they run until all exit; the first failure stops the rest. */
class RankGroup {
  /** Resolves once every rank has exited: true when all exited with code 0 and none was stopped. */
  readonly ended: Promise<boolean>;
  private readonly ranks: RankProcess[] = [];
  private resolveEnded!: (ok: boolean) => void;
  private running = 0;
  private failed = false;
  private stopRequested = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(private readonly config: LaunchConfig, restart: number, start: (localRank: number) => ChildProcess, private readonly log: (line: string) => void) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    for (let localRank = 0; localRank < config.nprocPerNode; localRank++) {
      if (this.stopRequested) break; // an earlier rank could not be started
      const r: RankProcess = { rank: config.nodeRank * config.nprocPerNode + localRank, child: undefined, running: true };
      this.ranks.push(r);
      this.running++;
      try {
        r.child = start(localRank);
      } catch (err) {
        this.exited(r, null, null, err as Error);
        continue;
      }
      const child = r.child;
      child.on('exit', (code, signal) => this.exited(r, code, signal));
      // Also emitted when a kill() fails; only an error before there is a pid means it never started.
      child.on('error', (err) => { if (child.pid === undefined) this.exited(r, null, null, err); });
    }
    const list = this.ranks.map((r) => (r.child?.pid === undefined ? `rank ${r.rank} not started` : `rank ${r.rank} pid ${r.child.pid}`));
    const n = this.ranks.length;
    this.log(`loom launch: started ${n} rank${n === 1 ? '' : 's'} (${list.join(', ')}), restart ${restart} of ${config.maxRestarts}`);
  }

  /** True once the ranks have been asked to stop: their exits from then on are not faults. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Sends `signal` to every running rank, and SIGKILL to those still running after the grace period. */
  stop(signal: NodeJS.Signals, byLauncherSignal = false): void {
    if (byLauncherSignal) this.failed = true; // a stopped group is not a success, whatever the ranks return
    if (this.stopRequested) return;
    this.stopRequested = true;
    for (const r of this.ranks) if (r.running) r.child?.kill(signal);
    if (this.running === 0) return;
    this.killTimer = setTimeout(() => {
      for (const r of this.ranks) {
        if (!r.running) continue;
        this.log(`loom launch: rank ${r.rank} (pid ${r.child?.pid}) still running ${this.config.gracePeriodMs / 1000} s after ${signal}; sending SIGKILL`);
        r.child?.kill('SIGKILL');
      }
    }, this.config.gracePeriodMs);
  }

  kill(): void {
    this.stopRequested = true;
    for (const r of this.ranks) if (r.running) r.child?.kill('SIGKILL');
  }

  private exited(r: RankProcess, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (!r.running) return;
    r.running = false;
    this.running--;
    // Once the group is stopping, the others' exits are the launcher's doing, not faults.
    if (!this.stopRequested && (error !== undefined || code !== 0)) {
      this.failed = true;
      this.log(error !== undefined
        ? `loom launch: rank ${r.rank} could not be started: ${error.message}`
        : `loom launch: rank ${r.rank} (pid ${r.child?.pid}) exited ${signal ? `with signal ${signal}` : `with code ${code}`}`);
      this.stop('SIGTERM');
    }
    if (this.running === 0) {
      clearTimeout(this.killTimer);
      this.resolveEnded(!this.failed);
    }
  }
}

export interface WatchLauncherOptions {
  env?: NodeJS.ProcessEnv;
  intervalMs?: number;
  /** Called once the launcher is gone (default: one stderr line, then exit code 1). */
  onGone?: (launcherPid: number) => void;
}

/**
 * A rank's half of "no process left behind": when `LOOM_LAUNCHER_PID` is set, this process
 * exits (code 1, one stderr line) as soon as its parent is no longer that launcher (a launcher
 * killed with SIGKILL cannot stop its ranks itself). Checks at once (a rank orphaned before it
 * started must not start) and then every second, on an unref'd timer. Removes the variable from
 * the environment, so processes this one starts are not taken for the launcher's own children.
 * Returns a function that stops watching.
 */
export function watchLauncher(options: WatchLauncherOptions = {}): () => void {
  const env = options.env ?? process.env;
  const raw = env[LAUNCHER_PID_VARIABLE];
  if (raw === undefined || raw === '') return () => {};
  delete env[LAUNCHER_PID_VARIABLE];
  const launcherPid = WHOLE.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(launcherPid) || launcherPid < 1) {
    process.stderr.write(`loom: warning: ${LAUNCHER_PID_VARIABLE} must be a process id, got '${raw}'; not watching the launcher\n`);
    return () => {};
  }
  const onGone = options.onGone ?? ((pid) => {
    process.stderr.write(`loom: error: the launcher (pid ${pid}) that started this rank is gone; exiting\n`);
    process.exit(EXIT.runtime);
  });
  let watching = true;
  const check = () => {
    if (watching && process.ppid !== launcherPid) {
      stop();
      onGone(launcherPid);
    }
  };
  const timer = setInterval(check, options.intervalMs ?? WATCH_INTERVAL_MS);
  timer.unref();
  const stop = () => {
    watching = false;
    clearInterval(timer);
  };
  check();
  return stop;
}
