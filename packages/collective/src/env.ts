/** torchrun's environment contract, read and checked. */
import { envSeconds, type GroupOptions } from './options.js';

const DEFAULT_MASTER_PORT = 29500;

/** The variable as an integer, undefined when unset; `expected` words the error for anything else. */
function integer(env: NodeJS.ProcessEnv, name: string, expected: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new RangeError(`${name}=${raw} must be ${expected}`);
  }
  return Number(raw);
}

/**
 * Group options from torchrun's variables, or null when WORLD_SIZE is unset (a single process).
 * Throws a RangeError naming the variable and what was expected: WORLD_SIZE a positive integer;
 * RANK an integer in [0, WORLD_SIZE); MASTER_ADDR non-empty (127.0.0.1 by default only when
 * WORLD_SIZE is 1); MASTER_PORT an integer in 1..65535 (default 29500); LOCAL_RANK and
 * LOCAL_WORLD_SIZE, when present, integers with LOCAL_RANK < LOCAL_WORLD_SIZE <= WORLD_SIZE
 * (defaults 0 and 1). The token comes from LOOM_DIST_TOKEN, the timeouts from
 * LOOM_RENDEZVOUS_TIMEOUT_S and LOOM_HEARTBEAT_TIMEOUT_S (seconds).
 */
export function groupOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): (GroupOptions & { localRank: number; localWorldSize: number }) | null {
  const worldSize = integer(env, 'WORLD_SIZE', 'a positive integer');
  if (worldSize === undefined) return null;
  if (worldSize < 1) throw new RangeError(`WORLD_SIZE=${env.WORLD_SIZE} must be a positive integer`);

  const rank = integer(env, 'RANK', `an integer in [0, ${worldSize})`);
  if (rank === undefined && worldSize > 1) {
    throw new RangeError(`RANK must be set to an integer in [0, ${worldSize}) when WORLD_SIZE=${worldSize}`);
  }
  if (rank !== undefined && rank >= worldSize) {
    throw new RangeError(`RANK=${rank} must be less than WORLD_SIZE=${worldSize}`);
  }

  const addr = env.MASTER_ADDR?.trim();
  if ((addr === undefined || addr === '') && worldSize > 1) {
    throw new RangeError(`MASTER_ADDR must be set to rank 0's host name or address when WORLD_SIZE=${worldSize}`);
  }
  if (addr !== undefined && /\s/.test(addr)) throw new RangeError(`MASTER_ADDR=${env.MASTER_ADDR} must be one host name or address`);

  const port = integer(env, 'MASTER_PORT', 'an integer in 1..65535') ?? DEFAULT_MASTER_PORT;
  if (port < 1 || port > 65535) throw new RangeError(`MASTER_PORT=${env.MASTER_PORT} must be an integer in 1..65535`);

  const localWorldSize = integer(env, 'LOCAL_WORLD_SIZE', `an integer in 1..WORLD_SIZE=${worldSize}`);
  if (localWorldSize !== undefined && (localWorldSize < 1 || localWorldSize > worldSize)) {
    throw new RangeError(`LOCAL_WORLD_SIZE=${localWorldSize} must be an integer in 1..WORLD_SIZE=${worldSize}`);
  }
  const localRank = integer(env, 'LOCAL_RANK', 'a non-negative integer');
  if (localRank !== undefined && localRank >= (localWorldSize ?? 1)) {
    throw new RangeError(
      localWorldSize === undefined
        ? `LOCAL_RANK=${localRank} needs LOCAL_WORLD_SIZE (the number of ranks on this host) greater than it`
        : `LOCAL_RANK=${localRank} must be less than LOCAL_WORLD_SIZE=${localWorldSize}`,
    );
  }

  const options: GroupOptions & { localRank: number; localWorldSize: number } = {
    rank: rank ?? 0,
    worldSize,
    masterAddr: addr === undefined || addr === '' ? '127.0.0.1' : addr,
    masterPort: port,
    localRank: localRank ?? 0,
    localWorldSize: localWorldSize ?? 1,
  };
  const token = env.LOOM_DIST_TOKEN;
  if (token !== undefined && token !== '') options.token = token;
  const timeoutMs = envSeconds(env, 'LOOM_RENDEZVOUS_TIMEOUT_S');
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  const heartbeatTimeoutMs = envSeconds(env, 'LOOM_HEARTBEAT_TIMEOUT_S');
  if (heartbeatTimeoutMs !== undefined) options.heartbeatTimeoutMs = heartbeatTimeoutMs;
  return options;
}
