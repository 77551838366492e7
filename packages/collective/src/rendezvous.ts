/**
 * Rendezvous: every rank finds rank 0 at MASTER_ADDR:MASTER_PORT and proves the token; rank 0
 * checks that they agree (world size, configHash, no rank twice) and sends the table of ring
 * listeners; each rank dials its left-hand neighbour and accepts its right-hand one; when every
 * rank reports its two links up, rank 0 says go and every listener closes. An error at any step
 * reaches every rank that can still be told.
 */
import { createServer, isIP, type Server } from 'node:net';
import { encodeJson, decodeReject, type Connection } from './connection.js';
import { acceptAuthenticated, connectionOptions, Deadline, dial, dialLeft, expectJson, listen, POOL_BUFFER_BYTES, RingAcceptor } from './dialing.js';
import { CollectiveError } from './errors.js';
import { BufferPool, FrameError, MessageType } from './frame.js';
import { ConnectionEnded, Inbox } from './inbox.js';
import { assertMayBind, type ResolvedOptions } from './options.js';

/** The two ring connections: `left` (dialled, data arrives on it) and `right` (accepted, data leaves on it). */
export interface RingLinks {
  left: Connection;
  right: Connection;
  pool: BufferPool;
}

/** What each rank tells rank 0. */
interface JoinMessage {
  rank: number;
  worldSize: number;
  configHash: string | null;
  host: string;
  port: number;
}

/** The ring listeners, by rank; rank 0's host is empty (dial it where you reached MASTER_ADDR). */
interface TableMessage {
  peers: Array<{ host: string; port: number }>;
}

const GRACE_MS = 1000;
/** How long past its own deadline a rank waits for rank 0 to say why rendezvous failed. */
const VERDICT_GRACE_MS = 2000;

export function rendezvous(o: ResolvedOptions): Promise<RingLinks> {
  const deadline = new Deadline(o.timeoutMs);
  const pool = new BufferPool(POOL_BUFFER_BYTES);
  return o.rank === 0 ? new Master(o, deadline, pool).run() : joinAsPeer(o, deadline, pool);
}

function parseJoin(v: Record<string, unknown>): JoinMessage {
  const { rank, worldSize, configHash, host, port } = v;
  if (
    !Number.isInteger(rank) ||
    !Number.isInteger(worldSize) ||
    !(configHash === null || typeof configHash === 'string') ||
    typeof host !== 'string' ||
    !Number.isInteger(port)
  ) {
    throw new FrameError('sent a malformed join');
  }
  return { rank: rank as number, worldSize: worldSize as number, configHash, host, port: port as number };
}

function parseTable(v: Record<string, unknown>, worldSize: number): TableMessage {
  const peers = v.peers;
  if (
    !Array.isArray(peers) ||
    peers.length !== worldSize ||
    !peers.every((p: unknown) => {
      const q = p as { host?: unknown; port?: unknown };
      return typeof p === 'object' && p !== null && typeof q.host === 'string' && Number.isInteger(q.port);
    })
  ) {
    throw new FrameError('sent a malformed peer table');
  }
  return { peers: peers as TableMessage['peers'] };
}

function ranksList(ranks: number[]): string {
  return ranks.join(', ');
}

class Master {
  private readonly server: Server = createServer();
  private accepting: { close(): void } | null = null;
  private readonly ring: RingAcceptor;
  private readonly joined = new Map<number, { conn: Connection; join: JoinMessage }>();
  /** Authenticated connections that have not joined yet. */
  private readonly lobby = new Set<Connection>();
  private readonly ready = new Set<number>();
  private phase: 'join' | 'ring' | 'done' | 'failed' = 'join';
  private left: Connection | null = null;
  private right: Connection | null = null;
  private resolve!: (links: RingLinks) => void;
  private reject!: (e: Error) => void;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly deadline: Deadline,
    private readonly pool: BufferPool,
  ) {
    this.ring = new RingAcceptor(o, pool, 1 % o.worldSize);
  }

  async run(): Promise<RingLinks> {
    // With a token: every interface (IPv6 ones too when MASTER_ADDR is an IPv6 literal). Without:
    // the loopback address the others dial.
    const v = isIP(this.o.masterAddr);
    const host = this.o.token !== undefined ? (v === 6 ? '::' : '0.0.0.0') : v !== 0 ? this.o.masterAddr : '127.0.0.1';
    assertMayBind(host, this.o.token);
    const result = new Promise<RingLinks>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    try {
      await listen(this.server, this.o.masterPort, host, 'MASTER_PORT');
      this.ringPort = await this.ring.listen(host);
    } catch (e) {
      this.server.close();
      this.ring.close();
      throw e;
    }
    this.accepting = acceptAuthenticated(this.server, connectionOptions(this.o, 'master'), (c) => this.admit(c));
    this.timer = setTimeout(() => this.timedOut(), this.deadline.remaining);
    return result;
  }

  private ringPort = 0;

  private admit(conn: Connection): void {
    if (this.phase !== 'join') {
      conn.send(MessageType.Reject, encodeJson({ message: 'rendezvous is already complete or has failed' }));
      void conn.end(GRACE_MS);
      return;
    }
    this.lobby.add(conn);
    conn.attach({
      frame: (type, payload) => this.onFrame(conn, type, payload),
      end: () => this.onEnd(conn),
    });
  }

  private rankOf(conn: Connection): number | undefined {
    for (const [rank, j] of this.joined) if (j.conn === conn) return rank;
    return undefined;
  }

  private onFrame(conn: Connection, type: MessageType, payload: Buffer): void {
    const rank = this.rankOf(conn);
    if (type === MessageType.Join && rank === undefined && this.phase === 'join') return this.onJoin(conn, payload);
    if (type === MessageType.Ready && rank !== undefined && this.phase === 'ring') {
      this.ready.add(rank);
      return this.maybeGo();
    }
    if (type === MessageType.Reject && rank !== undefined) {
      const { message } = decodeReject(payload);
      return this.failAll(new CollectiveError(message, rank));
    }
    if (rank !== undefined) return this.failAll(new CollectiveError(`rendezvous failed: rank ${rank} sent frame type ${type} out of turn`, rank));
    throw new FrameError(`sent frame type ${type} out of turn`);
  }

  private onJoin(conn: Connection, payload: Buffer): void {
    const join = parseJoin(expectJson(MessageType.Join, MessageType.Join, payload));
    const { rank } = join;
    const n = this.o.worldSize;
    if (join.worldSize !== n) {
      return this.failAll(
        new CollectiveError(`rendezvous failed: rank ${rank} has WORLD_SIZE=${join.worldSize} but rank 0 has WORLD_SIZE=${n}`, rank),
      );
    }
    if (rank < 1 || rank >= n) return this.refuse(conn, `rank ${rank} is not in 1..${n - 1} (WORLD_SIZE=${n})`);
    const earlier = this.joined.get(rank);
    if (earlier !== undefined) {
      return this.refuse(conn, `rank ${rank} has already joined from ${earlier.conn.peer}; a second rank ${rank} from ${conn.peer} is refused`);
    }
    const mine = this.o.configHash ?? null;
    if (join.configHash !== mine) {
      return this.failAll(
        new CollectiveError(
          `rendezvous failed: rank ${rank}'s configHash ${String(join.configHash)} differs from rank 0's ${String(mine)} (every rank must run the same configuration)`,
          rank,
        ),
      );
    }
    this.lobby.delete(conn);
    this.joined.set(rank, { conn, join });
    if (this.joined.size === n - 1) this.sendTable();
  }

  /** Turns one connection away (a duplicate or impossible rank); the rendezvous goes on. */
  private refuse(conn: Connection, message: string): void {
    this.o.log(`refused a join: ${message}`);
    this.lobby.delete(conn);
    conn.send(MessageType.Reject, encodeJson({ message: `rendezvous refused this rank: ${message}` }));
    void conn.end(GRACE_MS);
  }

  private onEnd(conn: Connection): void {
    this.lobby.delete(conn);
    const rank = this.rankOf(conn);
    if (rank === undefined || this.phase === 'done' || this.phase === 'failed') return;
    if (this.phase === 'join') {
      // It may be restarted (a pod rescheduled) and join again before the deadline.
      this.joined.delete(rank);
      this.o.log(`rank ${rank} disconnected during rendezvous; waiting for it to join again`);
      return;
    }
    this.failAll(new CollectiveError(`rendezvous failed: lost connection to rank ${rank} while the ring was being formed`, rank));
  }

  private sendTable(): void {
    this.phase = 'ring';
    const n = this.o.worldSize;
    const peers: TableMessage['peers'] = [{ host: '', port: this.ringPort }];
    for (let r = 1; r < n; r++) {
      const j = this.joined.get(r)!.join;
      peers.push({ host: j.host, port: j.port });
    }
    const table = encodeJson({ peers } satisfies TableMessage);
    for (const { conn } of this.joined.values()) conn.send(MessageType.Table, table);
    for (const c of this.lobby) c.destroy();
    this.lobby.clear();
    const last = peers[n - 1]!;
    Promise.all([dialLeft(this.o, this.pool, last.host, last.port, n - 1, this.deadline), this.ring.right]).then(
      ([left, right]) => {
        this.left = left;
        this.right = right;
        if (this.phase === 'ring') this.maybeGo();
        else this.dropRing();
      },
      (e: Error) => this.failAll(e instanceof CollectiveError ? e : new CollectiveError(e.message, undefined, { cause: e })),
    );
  }

  private maybeGo(): void {
    if (this.left === null || this.ready.size < this.o.worldSize - 1) return;
    this.phase = 'done';
    this.finish();
    for (const { conn } of this.joined.values()) {
      conn.send(MessageType.Go);
      void conn.end(GRACE_MS);
    }
    this.resolve({ left: this.left, right: this.right!, pool: this.pool });
  }

  private timedOut(): void {
    if (this.phase === 'join') {
      const missing: number[] = [];
      for (let r = 1; r < this.o.worldSize; r++) if (!this.joined.has(r)) missing.push(r);
      const n = this.o.worldSize;
      return this.failAll(
        this.deadline.error(
          `rank(s) ${ranksList(missing)} did not join (${n - missing.length} of ${n} joined)`,
          missing.length === 1 ? missing[0] : undefined,
        ),
      );
    }
    if (this.phase === 'ring') {
      const late: number[] = [];
      if (this.left === null) late.push(0);
      for (let r = 1; r < this.o.worldSize; r++) if (!this.ready.has(r)) late.push(r);
      this.failAll(this.deadline.error(`rank(s) ${ranksList(late)} did not finish connecting the ring`, late.length === 1 ? late[0] : undefined));
    }
  }

  /** Fails rendezvous here and on every rank that has joined. */
  private failAll(error: CollectiveError): void {
    if (this.phase === 'done' || this.phase === 'failed') return;
    this.phase = 'failed';
    this.finish();
    const msg = encodeJson({ message: error.message, rank: error.rank });
    for (const { conn } of this.joined.values()) {
      conn.send(MessageType.Reject, msg);
      void conn.end(GRACE_MS);
    }
    for (const c of this.lobby) {
      c.send(MessageType.Reject, msg);
      void c.end(GRACE_MS);
    }
    this.dropRing();
    this.reject(error);
  }

  private dropRing(): void {
    this.left?.destroy();
    this.right?.destroy();
    void this.ring.right.then((c) => c.destroy());
  }

  /** Stops listening, on both ports. */
  private finish(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.accepting?.close();
    this.ring.close();
  }
}

async function joinAsPeer(o: ResolvedOptions, deadline: Deadline, pool: BufferPool): Promise<RingLinks> {
  const target = `MASTER_ADDR ${o.masterAddr}:${o.masterPort}`;
  const n = o.worldSize;
  const leftRank = (o.rank - 1 + n) % n;
  const ring = new RingAcceptor(o, pool, (o.rank + 1) % n);
  const held: { master?: Connection; left?: Connection; right?: Connection } = {};
  void ring.right.then((c) => (held.right = c));
  try {
    const master = await dial(o, o.masterAddr, o.masterPort, connectionOptions(o, 'master'), Buffer.allocUnsafe(64 * 1024), deadline, (e) => `could not reach ${target} (${e})`);
    held.master = master;
    const inbox = new Inbox(master);
    /** The next frame from rank 0, of `type`; a Reject becomes rank 0's error here. */
    const next = async (what: string, type: MessageType): Promise<Record<string, unknown>> => {
      let got: [MessageType, Buffer];
      try {
        got = await deadline.race(inbox.next(), () => what, VERDICT_GRACE_MS);
      } catch (e) {
        if (e instanceof ConnectionEnded) throw new CollectiveError(`rendezvous failed: lost connection to rank 0 at ${target}`, 0);
        throw e;
      }
      if (got[0] === MessageType.Reject) {
        const { message, rank } = decodeReject(got[1]);
        throw new CollectiveError(message, rank);
      }
      if (got[0] === MessageType.Go && type === MessageType.Go) return {};
      return expectJson(type, got[0], got[1]);
    };

    const local = master.localAddress ?? '127.0.0.1';
    assertMayBind(local, o.token);
    const port = await ring.listen(local);
    const join: JoinMessage = { rank: o.rank, worldSize: n, configHash: o.configHash ?? null, host: local, port };
    master.send(MessageType.Join, encodeJson(join));
    const { peers } = parseTable(await next(`waiting at ${target} for the other ranks to join`, MessageType.Table), n);

    const peer = peers[leftRank]!;
    // Rank 0 is dialled where this rank reached MASTER_ADDR: rank 0 cannot know which of its addresses that is.
    const leftHost = leftRank === 0 ? (master.remoteAddress ?? o.masterAddr) : peer.host;
    // Rank 0 may call the rendezvous off (another rank failed) while this rank forms its links.
    const told = next('waiting for rank 0 to confirm the ring', MessageType.Go);
    told.catch(() => {});
    try {
      const links = Promise.all([
        dialLeft(o, pool, leftHost, peer.port, leftRank, deadline).then((c) => (held.left = c)),
        deadline.race(ring.right, () => `rank ${(o.rank + 1) % n} did not connect its ring link to this rank`),
      ]);
      await Promise.race([links, told]);
    } catch (e) {
      const error = e instanceof CollectiveError ? e : new CollectiveError(`rendezvous failed: ${(e as Error).message}`);
      if (master.authenticated) master.send(MessageType.Reject, encodeJson({ message: error.message, rank: error.rank ?? o.rank }));
      throw error;
    }
    master.send(MessageType.Ready);
    await told;
    ring.close();
    void master.end(GRACE_MS);
    return { left: held.left!, right: held.right!, pool };
  } catch (e) {
    ring.close();
    held.master?.destroy();
    held.left?.destroy();
    held.right?.destroy();
    void ring.right.then((c) => c.destroy());
    throw e;
  }
}
