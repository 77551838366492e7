import { describe, expect, it } from 'vitest';
import { groupOptionsFromEnv } from './env.js';
import { resolveOptions } from './options.js';

const base = { WORLD_SIZE: '4', RANK: '2', MASTER_ADDR: 'trainer-0.trainer', MASTER_PORT: '29501' };

describe('groupOptionsFromEnv', () => {
  it('is null without WORLD_SIZE', () => {
    expect(groupOptionsFromEnv({})).toBeNull();
    expect(groupOptionsFromEnv({ RANK: '1', WORLD_SIZE: '' })).toBeNull();
  });

  it("reads torchrun's variables", () => {
    const o = groupOptionsFromEnv({ ...base, LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2', LOOM_DIST_TOKEN: 't', LOOM_RENDEZVOUS_TIMEOUT_S: '60', LOOM_HEARTBEAT_TIMEOUT_S: '7.5' });
    expect(o).toEqual({
      rank: 2,
      worldSize: 4,
      masterAddr: 'trainer-0.trainer',
      masterPort: 29501,
      localRank: 0,
      localWorldSize: 2,
      token: 't',
      timeoutMs: 60_000,
      heartbeatTimeoutMs: 7500,
    });
  });

  it('defaults: port 29500, local rank 0 of 1, and 127.0.0.1 / rank 0 only for a world of one', () => {
    expect(groupOptionsFromEnv({ WORLD_SIZE: '1' })).toEqual({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500, localRank: 0, localWorldSize: 1 });
    const o = groupOptionsFromEnv({ WORLD_SIZE: '2', RANK: '1', MASTER_ADDR: '10.0.0.5' })!;
    expect([o.masterPort, o.localRank, o.localWorldSize, o.token]).toEqual([29500, 0, 1, undefined]);
  });

  const bad: Array<[string, Record<string, string>, string]> = [
    ['WORLD_SIZE zero', { ...base, WORLD_SIZE: '0' }, 'WORLD_SIZE=0 must be a positive integer'],
    ['WORLD_SIZE not a number', { ...base, WORLD_SIZE: 'four' }, 'WORLD_SIZE=four must be a positive integer'],
    ['WORLD_SIZE fractional', { ...base, WORLD_SIZE: '2.5' }, 'WORLD_SIZE=2.5 must be a positive integer'],
    ['RANK missing', { ...base, RANK: '' }, 'RANK must be set to an integer in [0, 4) when WORLD_SIZE=4'],
    ['RANK too large', { ...base, WORLD_SIZE: '2', RANK: '2' }, 'RANK=2 must be less than WORLD_SIZE=2'],
    ['RANK negative', { ...base, RANK: '-1' }, 'RANK=-1 must be an integer in [0, 4)'],
    ['MASTER_ADDR missing', { ...base, MASTER_ADDR: '' }, 'MASTER_ADDR must be set'],
    ['MASTER_ADDR two words', { ...base, MASTER_ADDR: 'a b' }, 'MASTER_ADDR=a b must be one host name or address'],
    ['MASTER_PORT zero', { ...base, MASTER_PORT: '0' }, 'MASTER_PORT=0 must be an integer in 1..65535'],
    ['MASTER_PORT too large', { ...base, MASTER_PORT: '70000' }, 'MASTER_PORT=70000 must be an integer in 1..65535'],
    ['MASTER_PORT not a number', { ...base, MASTER_PORT: 'http' }, 'MASTER_PORT=http must be an integer in 1..65535'],
    ['LOCAL_RANK not a number', { ...base, LOCAL_RANK: 'x' }, 'LOCAL_RANK=x must be a non-negative integer'],
    ['LOCAL_RANK too large', { ...base, LOCAL_RANK: '2', LOCAL_WORLD_SIZE: '2' }, 'LOCAL_RANK=2 must be less than LOCAL_WORLD_SIZE=2'],
    ['LOCAL_RANK without LOCAL_WORLD_SIZE', { ...base, LOCAL_RANK: '1' }, 'LOCAL_RANK=1 needs LOCAL_WORLD_SIZE'],
    ['LOCAL_WORLD_SIZE over WORLD_SIZE', { ...base, LOCAL_WORLD_SIZE: '5' }, 'LOCAL_WORLD_SIZE=5 must be an integer in 1..WORLD_SIZE=4'],
    ['LOOM_RENDEZVOUS_TIMEOUT_S negative', { ...base, LOOM_RENDEZVOUS_TIMEOUT_S: '-3' }, 'LOOM_RENDEZVOUS_TIMEOUT_S=-3 must be a positive number of seconds'],
    ['LOOM_HEARTBEAT_TIMEOUT_S not a number', { ...base, LOOM_HEARTBEAT_TIMEOUT_S: 'soon' }, 'LOOM_HEARTBEAT_TIMEOUT_S=soon must be a positive number of seconds'],
  ];
  it.each(bad)('%s: a RangeError naming the variable', (_name, env, message) => {
    expect(() => groupOptionsFromEnv(env)).toThrow(RangeError);
    expect(() => groupOptionsFromEnv(env)).toThrow(message);
  });
});

describe('resolveOptions', () => {
  const o = { rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 };

  it('takes the token and the timeouts from the environment when the options leave them out', () => {
    const r = resolveOptions(o, { LOOM_DIST_TOKEN: 'tok', LOOM_RENDEZVOUS_TIMEOUT_S: '2', LOOM_HEARTBEAT_TIMEOUT_S: '3' });
    expect([r.token, r.timeoutMs, r.heartbeatTimeoutMs, r.heartbeatIntervalMs]).toEqual(['tok', 2000, 3000, 750]);
    const d = resolveOptions(o, {});
    expect([d.token, d.timeoutMs, d.heartbeatTimeoutMs, d.heartbeatIntervalMs, d.maxFrameBytes]).toEqual([undefined, 300_000, 15_000, 1000, 16 * 1024 * 1024]);
  });

  it('without a token only loopback master addresses are allowed', () => {
    expect(() => resolveOptions({ ...o, masterAddr: '10.1.2.3' }, {})).toThrow('MASTER_ADDR 10.1.2.3 is not a loopback address and no token is set');
    for (const a of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) expect(resolveOptions({ ...o, masterAddr: a }, {}).masterAddr).toBe(a);
    expect(resolveOptions({ ...o, masterAddr: '10.1.2.3' }, { LOOM_DIST_TOKEN: 'x' }).token).toBe('x');
  });

  it('names the bad option', () => {
    expect(() => resolveOptions({ ...o, rank: 2 }, {})).toThrow('options.rank must be an integer in [0, 2), got 2');
    expect(() => resolveOptions({ ...o, worldSize: 0 }, {})).toThrow('options.worldSize must be a positive integer');
    expect(() => resolveOptions({ ...o, masterPort: 0 }, {})).toThrow('options.masterPort must be an integer in 1..65535');
    expect(() => resolveOptions({ ...o, timeoutMs: -1 }, {})).toThrow('options.timeoutMs must be a positive number');
    expect(() => resolveOptions({ ...o, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 400 }, {})).toThrow('heartbeatIntervalMs (500) must be less than heartbeatTimeoutMs (400)');
    expect(() => resolveOptions({ ...o, maxFrameBytes: 1000 }, {})).toThrow('options.maxFrameBytes must be an integer from 1048576');
  });
});
