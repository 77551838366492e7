/**
 * Hostile connections while rank 0 waits at rendezvous: each is dropped and logged, and the
 * group that forms afterwards computes exactly what a clean one does. A proxy on the master
 * connection shows the token never crosses the wire.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeAll, freePort, logSink, optionsFor, randomFloats, sameBits, startGroups } from '../test/helpers.js';
import { authKey, encodeFrame, HEADER_BYTES, initProcessGroup, makeResponse, MessageType, NONCE_BYTES, type ProcessGroup } from './index.js';

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const N = 3;
const LENGTH = 150_001;

async function reduceOnce(groups: ProcessGroup[]): Promise<Float32Array[]> {
  const data = groups.map((_, r) => randomFloats(LENGTH, 900 + r));
  await Promise.all(groups.map((g, r) => g.allReduce(data[r]!)));
  return data;
}

/** Connects and resolves with what the server sent and when it hung up. */
function attacker(port: number, act: (s: Socket, received: () => Buffer) => void): Promise<{ received: Buffer; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    s.on('connect', () => act(s, () => Buffer.concat(chunks)));
    s.on('close', () => resolve({ received: Buffer.concat(chunks), closedAfterMs: performance.now() - t0 }));
  });
}

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
}

describe('hostile connections at rendezvous', () => {
  it('wrong token, random bytes, a 2 GB header and a stalled half frame are each dropped and logged; the group then computes the same bits', async () => {
    const clean = await startGroups(N, { token: TOKEN });
    const expected = await reduceOnce(clean);
    await closeAll(clean);

    const port = await freePort();
    const sink = logSink();
    const authTimeoutMs = 400;
    const rank0 = initProcessGroup(optionsFor(0, N, port, { token: TOKEN, log: sink.log, authTimeoutMs }));
    await new Promise((r) => setTimeout(r, 50));
    const before = process.memoryUsage().arrayBuffers;

    const wrongToken = attacker(port, (s, received) => {
      void until(() => received().byteLength >= HEADER_BYTES + NONCE_BYTES).then(() => {
        const nonce = received().subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
        s.write(encodeFrame(MessageType.Response, makeResponse(authKey('guess'), 'master', nonce).response));
      });
    });
    const random = attacker(port, (s) => s.write(randomBytes(4096)));
    const huge = attacker(port, (s) => {
      const h = Buffer.alloc(HEADER_BYTES);
      h.writeUInt32LE(2 ** 31, 0);
      h[4] = MessageType.Response;
      s.write(h);
    });
    const stalled = attacker(port, (s) => s.write(encodeFrame(MessageType.Response, Buffer.alloc(64)).subarray(0, 20)));
    const results = await Promise.all([wrongToken, random, huge, stalled]);

    // The wrong token is told so; the others just see the connection close.
    expect(results[0]!.received.includes(Buffer.from('authentication failed'))).toBe(true);
    expect(results[3]!.closedAfterMs).toBeGreaterThanOrEqual(authTimeoutMs - 20);
    // Nothing near 2 GB was allocated for the header that claimed it.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    const refusals = sink.lines.filter((l) => l.startsWith('refused connection from 127.0.0.1:'));
    expect(refusals.some((l) => l.endsWith('authentication failed (wrong token?)'))).toBe(true);
    expect(refusals.some((l) => /unknown frame type|over the cap|before authenticating/.test(l))).toBe(true);
    expect(refusals.some((l) => l.endsWith(`frame of ${2 ** 31} bytes is over the cap of 256 bytes`))).toBe(true);
    expect(refusals.some((l) => l.endsWith(`did not finish authentication within ${authTimeoutMs} ms`))).toBe(true);
    expect(refusals).toHaveLength(4);

    const groups = await Promise.all([rank0, ...[1, 2].map((r) => initProcessGroup(optionsFor(r, N, port, { token: TOKEN })))]);
    try {
      const got = await reduceOnce(groups);
      for (let r = 0; r < N; r++) expect(sameBits(got[r]!, expected[r]!)).toBe(true);
      expect(groups.every((g) => g.failed === null)).toBe(true);
    } finally {
      await closeAll(groups);
    }
  });

  it('a proxy on the master connection never sees the token, and a tampered handshake fails', async () => {
    const masterPort = await freePort();
    const seen: Buffer[] = [];
    let flip = false;
    const proxy = createServer((inbound) => {
      const outbound = connect(masterPort, '127.0.0.1');
      inbound.on('data', (d: Buffer) => {
        seen.push(Buffer.from(d));
        if (flip && d.byteLength > HEADER_BYTES) d[d.byteLength - 1]! ^= 1;
        outbound.write(d);
      });
      outbound.on('data', (d: Buffer) => {
        seen.push(Buffer.from(d));
        inbound.write(d);
      });
      for (const s of [inbound, outbound]) s.on('error', () => {});
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const proxyPort = (proxy.address() as { port: number }).port;
    try {
      const viaProxy = { token: TOKEN, masterPort: proxyPort } as const;
      const groups = await Promise.all([
        initProcessGroup(optionsFor(0, 2, masterPort, { token: TOKEN })),
        initProcessGroup({ ...optionsFor(1, 2, masterPort, viaProxy), masterPort: proxyPort }),
      ]);
      await Promise.all(groups.map((g) => g.barrier()));
      await closeAll(groups);
      const wire = Buffer.concat(seen);
      expect(wire.byteLength).toBeGreaterThan(100);
      for (const form of [TOKEN, Buffer.from(TOKEN).toString('hex'), Buffer.from(TOKEN).toString('base64')]) {
        expect(wire.includes(Buffer.from(form))).toBe(false);
      }

      // One flipped bit in the client's proof: rank 0 refuses it, rank 1 is told.
      flip = true;
      const r0 = initProcessGroup(optionsFor(0, 2, masterPort, { token: TOKEN, timeoutMs: 3000 }));
      await expect(initProcessGroup({ ...optionsFor(1, 2, masterPort, { token: TOKEN, timeoutMs: 3000 }), masterPort: proxyPort })).rejects.toThrow(
        "rejected this rank's token",
      );
      flip = false;
      const late = await initProcessGroup({ ...optionsFor(1, 2, masterPort, { token: TOKEN }), masterPort: proxyPort });
      const g0 = await r0;
      await Promise.all([g0.barrier(), late.barrier()]);
      await closeAll([g0, late]);
    } finally {
      proxy.close();
    }
  });
});
