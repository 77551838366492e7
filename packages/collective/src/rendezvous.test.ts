import { createServer, Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, freePort, logSink, optionsFor, randomFloats, sameBits } from '../test/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
import { CollectiveError, initProcessGroup, type ProcessGroup } from './index.js';

const opened: ProcessGroup[] = [];
afterEach(async () => {
  await closeAll(opened.splice(0));
  vi.restoreAllMocks();
});

/** Settles every promise and returns each rejection's error (or the group, if it resolved). */
async function outcomes(ps: Array<Promise<ProcessGroup>>): Promise<Array<CollectiveError | ProcessGroup>> {
  const rs = await Promise.allSettled(ps);
  return rs.map((r) => {
    if (r.status === 'fulfilled') {
      opened.push(r.value);
      return r.value;
    }
    return r.reason as CollectiveError;
  });
}

describe('rendezvous', () => {
  it('a rank that never comes: rank 0, and the rank that did come, reject naming it within the timeout', async () => {
    const port = await freePort();
    const t0 = performance.now();
    const [r0, r1] = await outcomes([0, 1].map((r) => initProcessGroup(optionsFor(r, 3, port, { timeoutMs: 800 }))));
    const ms = performance.now() - t0;
    expect(r0).toBeInstanceOf(CollectiveError);
    expect((r0 as Error).message).toBe('rendezvous timed out after 0.8 s: rank(s) 2 did not join (2 of 3 joined)');
    expect((r0 as CollectiveError).rank).toBe(2);
    expect((r1 as Error).message).toBe((r0 as Error).message);
    expect(ms).toBeLessThan(3000);
  });

  it('a rank that cannot reach MASTER_ADDR says so when the deadline passes', async () => {
    const port = await freePort();
    const t0 = performance.now();
    await expect(initProcessGroup(optionsFor(1, 2, port, { timeoutMs: 500 }))).rejects.toThrow(
      `rendezvous timed out after 0.5 s: could not reach MASTER_ADDR 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  it('ranks started before rank 0 keep retrying until it listens', async () => {
    const port = await freePort();
    const late = [1, 2].map((r) => initProcessGroup(optionsFor(r, 3, port)));
    await new Promise((r) => setTimeout(r, 300));
    const groups = await Promise.all([initProcessGroup(optionsFor(0, 3, port)), ...late]);
    opened.push(...groups);
    const out = await Promise.all(groups.map((g) => g.allGather(String(g.rank))));
    expect(out[2]).toEqual(['0', '1', '2']);
  });

  it('a configHash mismatch fails rendezvous on every rank, naming the rank', async () => {
    const port = await freePort();
    const hash = (r: number) => (r === 2 ? 'model-b' : 'model-a');
    const results = await outcomes([0, 1, 2].map((r) => initProcessGroup(optionsFor(r, 3, port, { configHash: hash(r) }))));
    for (const e of results) {
      expect(e).toBeInstanceOf(CollectiveError);
      expect((e as CollectiveError).rank).toBe(2);
      expect((e as Error).message).toBe("rendezvous failed: rank 2's configHash model-b differs from rank 0's model-a (every rank must run the same configuration)");
    }
  });

  it('a WORLD_SIZE mismatch fails rendezvous, naming the rank', async () => {
    const port = await freePort();
    const results = await outcomes([initProcessGroup(optionsFor(0, 2, port)), initProcessGroup(optionsFor(1, 3, port))]);
    for (const e of results) expect((e as Error).message).toBe('rendezvous failed: rank 1 has WORLD_SIZE=3 but rank 0 has WORLD_SIZE=2');
  });

  it('a duplicate rank is refused; the group forms with the first one', async () => {
    const port = await freePort();
    const sink = logSink();
    const r0 = initProcessGroup(optionsFor(0, 3, port, { log: sink.log }));
    const attempts = [initProcessGroup(optionsFor(1, 3, port)), sleep(150).then(() => initProcessGroup(optionsFor(1, 3, port)))];
    const refused = await Promise.race(attempts.map((p) => p.then(() => new Promise<never>(() => {}), (e: unknown) => e as Error)));
    expect(refused.message).toMatch(/^rendezvous refused this rank: rank 1 has already joined from 127\.0\.0\.1:\d+; a second rank 1 from 127\.0\.0\.1:\d+ is refused$/);
    const groups = await Promise.all([r0, Promise.any(attempts), initProcessGroup(optionsFor(2, 3, port))]);
    opened.push(...groups);
    expect(sink.lines.some((l) => l.includes('refused a join: rank 1 has already joined'))).toBe(true);
    const data = groups.map((_, r) => randomFloats(10, r));
    await Promise.all(groups.map((g, r) => g.allReduce(data[r]!)));
    expect(sameBits(data[0]!, data[2]!)).toBe(true);
  });

  it('MASTER_PORT in use is a clear error', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(initProcessGroup(optionsFor(0, 2, port))).rejects.toThrow(`MASTER_PORT ${port} is already in use on this host (EADDRINUSE)`);
    } finally {
      busy.close();
    }
  });

  it('no token with a non-loopback MASTER_ADDR throws before anything is bound', async () => {
    const listen = vi.spyOn(Server.prototype, 'listen');
    for (const rank of [0, 1]) {
      await expect(initProcessGroup({ ...optionsFor(rank, 2, 29500), masterAddr: '10.11.12.13', token: '' })).rejects.toThrow(
        'MASTER_ADDR 10.11.12.13 is not a loopback address and no token is set',
      );
    }
    expect(listen).not.toHaveBeenCalled();
  });

  it('with a token the group forms (rank 0 listens on every interface)', async () => {
    const port = await freePort();
    const groups = await Promise.all([0, 1].map((r) => initProcessGroup(optionsFor(r, 2, port, { token: 'tok-1' }))));
    opened.push(...groups);
    await Promise.all(groups.map((g) => g.barrier()));
  });

  it('a rank with the wrong token fails fast; rank 0 logs the refusal and goes on waiting', async () => {
    const port = await freePort();
    const sink = logSink();
    const r0 = initProcessGroup(optionsFor(0, 2, port, { token: 'right', log: sink.log }));
    const t0 = performance.now();
    await expect(initProcessGroup(optionsFor(1, 2, port, { token: 'wrong' }))).rejects.toThrow(
      `rendezvous failed: 127.0.0.1:${port} rejected this rank's token (is LOOM_DIST_TOKEN the same on every rank?)`,
    );
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(sink.lines.some((l) => /refused connection from 127\.0\.0\.1:\d+: authentication failed/.test(l))).toBe(true);
    const groups = await Promise.all([r0, initProcessGroup(optionsFor(1, 2, port, { token: 'right' }))]);
    opened.push(...groups);
    await Promise.all(groups.map((g) => g.barrier()));
  });
});
