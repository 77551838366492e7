/** GroupOptions, their defaults (some from the environment) and their checks, in one place. */
import { isIP } from 'node:net';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.js';

export interface GroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /**
   * Shared secret; default process.env.LOOM_DIST_TOKEN. Without one, only loopback master
   * addresses are allowed and every socket binds to loopback; binding anything else throws.
   */
  token?: string;
  /** Rendezvous deadline in ms (default: env LOOM_RENDEZVOUS_TIMEOUT_S*1000, else 300_000). */
  timeoutMs?: number;
  /** Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /**
   * A peer silent this long is declared dead. Default: env LOOM_HEARTBEAT_TIMEOUT_S*1000, else
   * 15_000 (so a hung rank is noticed well within 30 s).
   */
  heartbeatTimeoutMs?: number;
  /**
   * Compared at rendezvous: a rank whose hash differs from rank 0's makes rendezvous fail on
   * every rank with an error naming it.
   */
  configHash?: string;
  /** Notices such as refused connections; default: a line on stderr prefixed "loom collective: ". */
  log?: (message: string) => void;
  /** Cap on one frame's payload after authentication (default 16 MiB; before auth the cap is 256 bytes). */
  maxFrameBytes?: number;
  /** A connection that has not finished the handshake within this many ms is dropped (default 5000). */
  authTimeoutMs?: number;
}

/** Every option filled in and checked. */
export interface ResolvedOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  token: string | undefined;
  timeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  configHash: string | undefined;
  log: (message: string) => void;
  maxFrameBytes: number;
  authTimeoutMs: number;
}

/** The ring's data frames are 256 KiB plus headers; a smaller cap could not carry them. */
export const MIN_MAX_FRAME_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000;
const DEFAULT_AUTH_TIMEOUT_MS = 5000;

export function defaultLog(message: string): void {
  process.stderr.write(`loom collective: ${message}\n`);
}

/** True for addresses that cannot leave this host: 127.0.0.0/8, ::1, their IPv4-mapped forms, "localhost". */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Throws unless binding `host` is allowed: anything with a token, only loopback without. */
export function assertMayBind(host: string, token: string | undefined): void {
  if (token === undefined && !isLoopback(host)) {
    throw new Error(
      `refusing to listen on ${host} without a token: set LOOM_DIST_TOKEN (or options.token) on every rank, or use a loopback MASTER_ADDR`,
    );
  }
}

/** Seconds from the environment as ms, or undefined when unset; a bad value names the variable. */
export function envSeconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const s = Number(raw);
  if (!/^\s*[0-9.]+\s*$/.test(raw) || !Number.isFinite(s) || s <= 0) {
    throw new RangeError(`${name}=${raw} must be a positive number of seconds`);
  }
  return s * 1000;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: GroupOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('initProcessGroup needs an options object');
  const { rank, worldSize, masterAddr, masterPort } = options;
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new RangeError(`options.worldSize must be a positive integer, got ${String(worldSize)}`);
  }
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RangeError(`options.rank must be an integer in [0, ${worldSize}), got ${String(rank)}`);
  }
  if (typeof masterAddr !== 'string' || masterAddr.trim() === '') {
    throw new RangeError('options.masterAddr must be a non-empty host name or address');
  }
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535) {
    throw new RangeError(`options.masterPort must be an integer in 1..65535, got ${String(masterPort)}`);
  }
  const rawToken = options.token ?? env.LOOM_DIST_TOKEN;
  const token = rawToken === undefined || rawToken === '' ? undefined : rawToken;
  if (token !== undefined && typeof token !== 'string') throw new TypeError('options.token must be a string');
  if (worldSize > 1 && token === undefined && !isLoopback(masterAddr)) {
    throw new Error(
      `MASTER_ADDR ${masterAddr} is not a loopback address and no token is set: set LOOM_DIST_TOKEN to the same secret on every rank (without one only 127.0.0.1 / localhost / ::1 is allowed)`,
    );
  }
  const heartbeatTimeoutMs = positive(
    'heartbeatTimeoutMs',
    options.heartbeatTimeoutMs,
    envSeconds(env, 'LOOM_HEARTBEAT_TIMEOUT_S') ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
  );
  // With only the timeout given, beat often enough that a few lost beats are not a death.
  const heartbeatIntervalMs = positive(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, heartbeatTimeoutMs / 4),
  );
  if (heartbeatIntervalMs >= heartbeatTimeoutMs) {
    throw new RangeError(
      `options.heartbeatIntervalMs (${heartbeatIntervalMs}) must be less than heartbeatTimeoutMs (${heartbeatTimeoutMs})`,
    );
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < MIN_MAX_FRAME_BYTES || maxFrameBytes > 0xffffffff) {
    throw new RangeError(`options.maxFrameBytes must be an integer from ${MIN_MAX_FRAME_BYTES} to 4294967295, got ${String(maxFrameBytes)}`);
  }
  if (options.configHash !== undefined && typeof options.configHash !== 'string') {
    throw new TypeError('options.configHash must be a string');
  }
  if (options.log !== undefined && typeof options.log !== 'function') throw new TypeError('options.log must be a function');
  return {
    rank,
    worldSize,
    masterAddr: masterAddr.trim(),
    masterPort,
    token,
    timeoutMs: positive('timeoutMs', options.timeoutMs, envSeconds(env, 'LOOM_RENDEZVOUS_TIMEOUT_S') ?? DEFAULT_TIMEOUT_MS),
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    configHash: options.configHash,
    log: options.log ?? defaultLog,
    maxFrameBytes,
    authTimeoutMs: positive('authTimeoutMs', options.authTimeoutMs, DEFAULT_AUTH_TIMEOUT_MS),
  };
}
