/**
 * The pieces of rendezvous that both rank 0 and the others use: the deadline, listening,
 * dialing with retries, and the ring listener that waits for the right-hand neighbour.
 */
import { createServer, type Server } from 'node:net';
import { Connection, decodeJson, encodeJson, HandshakeError, type ConnectionOptions } from './connection.js';
import { CollectiveError, seconds } from './errors.js';
import { BufferPool, FrameError, MessageType } from './frame.js';
import { Inbox } from './inbox.js';
import type { ResolvedOptions } from './options.js';
import type { Purpose } from './auth.js';
import { authKey } from './auth.js';

/** Largest data payload (a Stream frame: 13 + 256 KiB) with room to spare. */
export const POOL_BUFFER_BYTES = 256 * 1024 + 64;
/** The reused read buffer of each link a rank receives data on. */
export const READ_BUFFER_BYTES = 256 * 1024;
/** Unauthenticated connections one listener keeps at once; more are dropped on arrival. */
export const MAX_PENDING_HANDSHAKES = 64;

export function connectionOptions(o: ResolvedOptions, purpose: Purpose, pool?: BufferPool): ConnectionOptions {
  const c: ConnectionOptions = {
    purpose,
    key: authKey(o.token),
    maxFrameBytes: o.maxFrameBytes,
    authTimeoutMs: o.authTimeoutMs,
    log: o.log,
  };
  if (pool !== undefined) c.pool = pool;
  return c;
}

/** The rendezvous deadline: one clock for every wait, each wait saying what it waited for. */
export class Deadline {
  private readonly end: number;

  constructor(readonly ms: number) {
    this.end = performance.now() + ms;
  }

  get remaining(): number {
    return Math.max(0, this.end - performance.now());
  }

  error(what: string, rank?: number): CollectiveError {
    return new CollectiveError(`rendezvous timed out after ${seconds(this.ms)} s: ${what}`, rank);
  }

  /**
   * `p`, or a timeout error built by `what()` when the deadline (plus `graceMs`) comes first. A
   * rank waiting on rank 0 gives it a grace period, so rank 0's verdict, which names the missing
   * ranks, arrives before this rank's own, which cannot.
   */
  race<T>(p: Promise<T>, what: () => string | CollectiveError, graceMs = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        const w = what();
        reject(typeof w === 'string' ? this.error(w) : w);
      }, this.remaining + graceMs);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Listens; a port in use is a clear error rather than EADDRINUSE from deep inside net. */
export function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (e.code === 'EADDRINUSE') reject(new CollectiveError(`${what} ${port} is already in use on this host (EADDRINUSE)`));
      else reject(new CollectiveError(`cannot listen on ${host}:${port} for ${what} (${e.code ?? e.message})`, undefined, { cause: e }));
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

/**
 * Accepts connections on `server`, each authenticated before `onAuthenticated` hears of it.
 * Connections past {@link MAX_PENDING_HANDSHAKES} still in their handshake are dropped; `close`
 * destroys those still pending.
 */
export function acceptAuthenticated(
  server: Server,
  options: ConnectionOptions,
  onAuthenticated: (conn: Connection) => void,
): { close(): void } {
  const pending = new Set<Connection>();
  server.on('connection', (socket) => {
    if (pending.size >= MAX_PENDING_HANDSHAKES) {
      options.log(`refused connection from ${socket.remoteAddress}:${socket.remotePort}: too many connections in their handshake`);
      socket.destroy();
      return;
    }
    const conn = Connection.accept(socket, options);
    pending.add(conn);
    conn.ready.then(
      () => {
        pending.delete(conn);
        onAuthenticated(conn);
      },
      () => pending.delete(conn),
    );
  });
  server.on('error', (e) => options.log(`listener error: ${e.message}`));
  return {
    close() {
      server.close();
      for (const c of pending) c.destroy();
      pending.clear();
    },
  };
}

/**
 * Dials `host:port` until a connection is authenticated or the deadline passes. Refused
 * connections, unknown hosts (the master's DNS name may not exist yet) and dropped handshakes are
 * retried; a peer that says the token is wrong, or cannot prove it knows it, is not.
 */
export async function dial(
  o: ResolvedOptions,
  host: string,
  port: number,
  options: ConnectionOptions,
  readBuffer: Buffer,
  deadline: Deadline,
  unreachable: (lastError: string) => string,
): Promise<Connection> {
  let delay = 50;
  let lastError = 'no answer';
  let logged = false;
  for (;;) {
    if (deadline.remaining <= 0) throw deadline.error(`${unreachable(lastError)}`);
    const conn = Connection.connect(host, port, options, readBuffer);
    try {
      await deadline.race(conn.ready, () => unreachable(lastError));
      return conn;
    } catch (e) {
      conn.destroy();
      if (!(e instanceof HandshakeError)) throw e;
      if (e.kind === 'rejected' || e.kind === 'bad-proof') {
        const why =
          e.kind === 'rejected'
            ? `${host}:${port} rejected this rank's token`
            : `${host}:${port} could not prove it knows the token`;
        throw new CollectiveError(`rendezvous failed: ${why} (is LOOM_DIST_TOKEN the same on every rank?)`);
      }
      lastError = e.code ?? e.message;
      if (!logged) {
        o.log(`waiting for ${host}:${port} (${lastError}); retrying until the rendezvous deadline`);
        logged = true;
      }
    }
    await sleep(Math.min(delay, deadline.remaining));
    delay = Math.min(delay * 2, 1000);
  }
}

/** Reads a JSON object frame of `type`, or throws naming what came instead. */
export function expectJson(type: MessageType, got: MessageType, payload: Buffer): Record<string, unknown> {
  if (got !== type) throw new FrameError(`sent frame type ${got} where type ${type} was due`);
  return decodeJson(payload);
}

/**
 * This rank's ring listener: waits for the right-hand neighbour, which must authenticate and
 * then say which rank it is; anyone else is logged and dropped. Closed once the ring is formed.
 */
export class RingAcceptor {
  private readonly server = createServer();
  private readonly acceptor: { close(): void };
  private resolveRight!: (c: Connection) => void;
  /** The authenticated link from the right-hand neighbour. */
  readonly right: Promise<Connection>;
  private done = false;
  private readonly greeting = new Set<Connection>();

  constructor(
    private readonly o: ResolvedOptions,
    pool: BufferPool,
    private readonly expected: number,
  ) {
    this.right = new Promise((resolve) => (this.resolveRight = resolve));
    this.acceptor = acceptAuthenticated(this.server, connectionOptions(o, 'ring', pool), (conn) => void this.hello(conn));
  }

  listen(host: string): Promise<number> {
    return listen(this.server, 0, host, 'ring port');
  }

  close(): void {
    this.done = true;
    this.acceptor.close();
    for (const c of this.greeting) c.destroy();
    this.greeting.clear();
  }

  private async hello(conn: Connection): Promise<void> {
    const inbox = new Inbox(conn);
    this.greeting.add(conn);
    try {
      const [type, payload] = await inbox.next();
      const { rank } = expectJson(MessageType.RingHello, type, payload);
      if (this.done) throw new Error('the ring is already formed');
      if (rank !== this.expected) throw new Error(`it says it is rank ${String(rank)}, but rank ${this.expected} was due`);
      this.done = true;
      conn.send(MessageType.RingHello, encodeJson({ rank: this.o.rank }));
      inbox.detach();
      this.resolveRight(conn);
    } catch (e) {
      if (!this.done || this.greeting.has(conn)) this.o.log(`refused ring connection from ${conn.peer}: ${(e as Error).message}`);
      conn.destroy();
    } finally {
      this.greeting.delete(conn);
    }
  }
}

/** Dials the left-hand neighbour's ring listener and checks it is who the table says. */
export async function dialLeft(
  o: ResolvedOptions,
  pool: BufferPool,
  host: string,
  port: number,
  left: number,
  deadline: Deadline,
): Promise<Connection> {
  const what = `could not connect the ring to rank ${left} at ${host}:${port}`;
  const conn = await dial(o, host, port, connectionOptions(o, 'ring', pool), Buffer.allocUnsafe(READ_BUFFER_BYTES), deadline, (e) => `${what} (${e})`);
  const inbox = new Inbox(conn);
  conn.send(MessageType.RingHello, encodeJson({ rank: o.rank }));
  try {
    const [type, payload] = await deadline.race(inbox.next(), () => `${what} (no answer to the ring hello)`);
    const { rank } = expectJson(MessageType.RingHello, type, payload);
    if (rank !== left) throw new CollectiveError(`rendezvous failed: ${host}:${port} is rank ${String(rank)}, not rank ${left}`, left);
  } catch (e) {
    conn.destroy();
    if (e instanceof CollectiveError) throw e;
    throw new CollectiveError(`rendezvous failed: ${what}: ${(e as Error).message}`, left);
  }
  inbox.detach();
  return conn;
}
