/**
 * Peers that die, freeze or leave: the surviving ranks' calls reject naming the rank, promptly,
 * and never hang. The dying peers are child processes running test/fixtures/peer.mjs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { closeAll, ensureBuilt, freePort, optionsFor, startGroups, startPeer, type Peer } from '../test/helpers.js';
import { CollectiveError, initProcessGroup, type ProcessGroup } from './index.js';

beforeAll(() => ensureBuilt(), 60_000);

/** Runs allReduce steps until one rejects; resolves with that error and when it came. */
async function stepUntilFailure(g: ProcessGroup, length: number): Promise<{ error: CollectiveError; at: number }> {
  const data = new Float32Array(length);
  for (;;) {
    try {
      data.fill(1);
      await g.allReduce(data);
    } catch (e) {
      return { error: e as CollectiveError, at: performance.now() };
    }
  }
}

function kill(peer: Peer | undefined): void {
  if (peer !== undefined && peer.child.exitCode === null && peer.child.signalCode === null) peer.child.kill('SIGKILL');
}

describe('a peer that dies or freezes', () => {
  it('SIGKILL mid-allReduce: the pending call rejects naming the rank, at once', async () => {
    const port = await freePort();
    const length = 2_000_000;
    let peer: Peer | undefined;
    try {
      peer = await startPeer({ ...optionsFor(1, 2, port), length }, 'loop');
      const g = await initProcessGroup(optionsFor(0, 2, port));
      await peer.next('ready');
      const failed = stepUntilFailure(g, length);
      await peer.next('step');
      await peer.next('step');
      const killedAt = performance.now();
      peer.child.kill('SIGKILL');
      const { error, at } = await failed;
      expect(error).toBeInstanceOf(CollectiveError);
      expect(error.message).toBe('lost connection to rank 1 (it exited or the network failed)');
      expect(error.rank).toBe(1);
      expect(at - killedAt).toBeLessThan(2000);
      expect(g.failed).toBe(error);
      await expect(g.failure).rejects.toBe(error);
      await expect(g.barrier()).rejects.toBe(error);
      await g.close();
    } finally {
      kill(peer);
    }
  });

  it('SIGKILL of a rank that is not a neighbour: the failure goes round the ring to every rank', async () => {
    const port = await freePort();
    const length = 300_000;
    let peer: Peer | undefined;
    try {
      peer = await startPeer({ ...optionsFor(2, 4, port), length }, 'loop');
      const groups = await Promise.all([0, 1, 3].map((r) => initProcessGroup(optionsFor(r, 4, port))));
      const failed = Promise.all(groups.map((g) => stepUntilFailure(g, length)));
      await peer.next('step');
      peer.child.kill('SIGKILL');
      const results = await failed;
      for (const { error } of results) {
        expect(error.rank).toBe(2);
        expect(error.message).toMatch(/^lost connection to rank 2 \(it exited or the network failed\)/);
      }
      // Rank 0 is no neighbour of rank 2: it heard from rank 1 or 3.
      expect(results[0]!.error.message).toMatch(/\(reported by rank [13]\)$/);
      await closeAll(groups);
    } finally {
      kill(peer);
    }
  });

  it('SIGSTOP: a frozen peer is declared dead by heartbeat timeout', async () => {
    const port = await freePort();
    const hb = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 800 };
    let peer: Peer | undefined;
    try {
      peer = await startPeer({ ...optionsFor(1, 2, port, hb), length: 1000 }, 'loop');
      const g = await initProcessGroup(optionsFor(0, 2, port, hb));
      const failed = stepUntilFailure(g, 1000);
      await peer.next('step');
      const stoppedAt = performance.now();
      peer.child.kill('SIGSTOP');
      const { error, at } = await failed;
      expect(error.message).toBe('rank 1 stopped answering: no heartbeat for 0.8 s');
      expect(error.rank).toBe(1);
      expect(at - stoppedAt).toBeGreaterThanOrEqual(700);
      expect(at - stoppedAt).toBeLessThan(3000);
      await g.close();
    } finally {
      kill(peer);
    }
  });

  it('a loop blocked by long synchronous compute does not declare a live peer dead', async () => {
    const port = await freePort();
    let peer: Peer | undefined;
    try {
      // The peer beats every 100 ms and is patient; this rank's own timeout is short.
      peer = await startPeer(optionsFor(1, 2, port, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 20_000 }), 'barrier');
      const g = await initProcessGroup(optionsFor(0, 2, port, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 }));
      // Block in the check phase: the next turn of the loop runs timers (the heartbeat check,
      // now overdue) before it polls the sockets where the peer's heartbeats are waiting.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const until = performance.now() + 1200;
          while (performance.now() < until) {
            /* compute */
          }
          resolve();
        }),
      );
      await g.barrier();
      await g.barrier();
      expect(g.failed).toBeNull();
      await peer.next('done');
      await g.close();
    } finally {
      kill(peer);
    }
  });

  it('a process that never calls close() still exits by itself', async () => {
    const port = await freePort();
    let peer: Peer | undefined;
    try {
      peer = await startPeer(optionsFor(1, 2, port), 'forget');
      const g = await initProcessGroup(optionsFor(0, 2, port));
      const data = new Float32Array(1000);
      await g.allReduce(data);
      await g.allReduce(data);
      const { code } = await peer.exited;
      expect(code).toBe(0);
      await g.close();
    } finally {
      kill(peer);
    }
  });
});

describe('a peer that leaves early', () => {
  it('close() on one rank while another is in allReduce rejects that call naming it', async () => {
    const groups = await startGroups(2);
    const pending = groups[0]!.allReduce(new Float32Array(1000));
    await groups[1]!.close();
    await expect(pending).rejects.toThrow('rank 1 left the group (it called close()) while this rank was in allReduce');
    expect(groups[0]!.failed?.rank).toBe(1);
    await groups[0]!.close();
  });

  it('a goodbye while idle is no failure until a call needs the rank', async () => {
    const groups = await startGroups(3);
    await groups[2]!.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(groups[0]!.failed).toBeNull();
    const calls = [groups[0]!.barrier(), groups[1]!.barrier()];
    for (const c of calls) await expect(c).rejects.toMatchObject({ rank: 2 });
    await closeAll(groups);
  });

  it('close() is idempotent, and later calls reject as closed', async () => {
    const groups = await startGroups(2);
    await Promise.all([groups[0]!.close(), groups[0]!.close(), groups[1]!.close()]);
    await expect(groups[0]!.allReduce(new Float32Array(1))).rejects.toThrow('the process group is closed');
    expect(groups[0]!.failed).toBeNull();
  });
});
