/**
 * Two "hosts": network namespaces joined by a veth pair, each with its own stack and address, so
 * loopback on one is not loopback on the other. Rank 0 listens on every interface (there is a
 * token); rank 1 must advertise the address it reached rank 0 from for the ring to form. Skipped
 * where namespaces cannot be made (not root, or no `ip`).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startPeer, type Peer } from '../test/helpers.js';

const tag = `${process.pid % 100000}`;
const ns = [`loomc-${tag}-a`, `loomc-${tag}-b`];
const veth = [`lc${tag}a`, `lc${tag}b`];
const addr = ['10.213.7.1', '10.213.7.2'];

function ip(...args: string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

function setUp(): boolean {
  if (!ip('netns', 'add', ns[0]!)) return false;
  return (
    ip('netns', 'add', ns[1]!) &&
    ip('link', 'add', veth[0]!, 'type', 'veth', 'peer', 'name', veth[1]!) &&
    [0, 1].every(
      (i) =>
        ip('link', 'set', veth[i]!, 'netns', ns[i]!) &&
        ip('-n', ns[i]!, 'addr', 'add', `${addr[i]}/24`, 'dev', veth[i]!) &&
        ip('-n', ns[i]!, 'link', 'set', veth[i]!, 'up') &&
        ip('-n', ns[i]!, 'link', 'set', 'lo', 'up'),
    )
  );
}

let ready = false;
beforeAll(() => {
  ensureBuilt();
  ready = setUp();
  if (!ready) console.warn('skipping the two-host test: cannot create network namespaces here (needs root and `ip netns`)');
}, 60_000);
afterAll(() => {
  for (const n of ns) ip('netns', 'del', n); // deleting a namespace deletes its end of the veth pair
});

describe('two hosts', () => {
  it('rendezvous and allReduce across network namespaces, with a token', async ({ skip }) => {
    if (!ready) skip();
    const port = 29611;
    const base = { worldSize: 2, masterAddr: addr[0]!, masterPort: port, token: 'across-hosts-token', timeoutMs: 15_000 };
    const peers: Peer[] = [];
    try {
      for (const rank of [0, 1]) peers.push(await startPeer({ ...base, rank }, 'reduce', ['ip', 'netns', 'exec', ns[rank]!]));
      const done = await Promise.all(peers.map((p) => p.next('done')));
      for (const d of done) {
        expect(d.head).toEqual([0, 3, 6, 9, 12, 15, 18]);
      }
      for (const p of peers) expect((await p.exited).code).toBe(0);
    } finally {
      for (const p of peers) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});
