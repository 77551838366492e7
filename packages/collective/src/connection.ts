/**
 * One TCP connection: framing, the caps, and the mutual handshake. Until both sides have proved
 * the token, nothing but handshake frames is accepted and nothing is handed to the owner; after
 * it, frames go to `onFrame` in order. A server-side connection that misbehaves before it is
 * authenticated is destroyed and logged, and its owner never hears of it.
 */
import { connect, type Socket } from 'node:net';
import { checkConfirm, checkResponse, makeResponse, MAC_BYTES, NONCE_BYTES, newNonce, proof, type Purpose } from './auth.js';
import { BufferPool, encodeFrame, FrameError, FrameReader, HEADER_BYTES, MessageType, writeHeader } from './frame.js';

export interface ConnectionOptions {
  purpose: Purpose;
  /** HMAC key (see `authKey`). */
  key: Buffer;
  /** Payload cap after authentication. */
  maxFrameBytes: number;
  /** A connection that has not finished the handshake by then is dropped. */
  authTimeoutMs: number;
  log: (message: string) => void;
  /** Where post-auth payloads are copied; without one each gets its own Buffer. */
  pool?: BufferPool;
}

/** How a connection ended, as its owner hears it. */
export type EndReason =
  | { kind: 'closed' }
  | { kind: 'error'; code: string }
  | { kind: 'protocol'; detail: string }
  | { kind: 'local' };

/** Why a handshake did not complete (client side; the server side logs and drops instead). */
export class HandshakeError extends Error {
  constructor(
    readonly kind: 'rejected' | 'bad-proof' | 'network' | 'timeout' | 'protocol',
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

type Side = 'server' | 'client';
type State = 'challenge' | 'response' | 'confirm' | 'open' | 'ended';

/** Reject payloads (both directions): `{ message, rank? }`. */
export interface RejectMessage {
  message: string;
  rank?: number;
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses a JSON payload; throws FrameError (a protocol error) when it is not an object. */
export function decodeJson(payload: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    throw new FrameError('payload is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FrameError('payload is not a JSON object');
  return value as Record<string, unknown>;
}

export function decodeReject(payload: Uint8Array): RejectMessage {
  const v = decodeJson(payload);
  const message = typeof v.message === 'string' ? v.message : 'no reason given';
  return typeof v.rank === 'number' && Number.isInteger(v.rank) ? { message, rank: v.rank } : { message };
}

export interface ConnectionHandlers {
  /** After authentication: every frame, in order. The payload is the owner's (give it back to the pool). */
  frame(type: MessageType, payload: Buffer): void;
  /** After authentication: the connection ended; called once. */
  end(reason: EndReason): void;
}

export class Connection {
  private handlers: ConnectionHandlers | null = null;
  /** What arrived between authentication and `attach` (the owner awaits `ready` first). */
  private early: Array<[MessageType, Buffer]> = [];
  private earlyEnd: EndReason | null = null;
  /** Resolves once both sides proved the token. On the server side it never rejects (failures are logged). */
  readonly ready: Promise<void>;
  /** performance.now() of the last bytes received: liveness, whatever the frame. */
  lastReceived = performance.now();
  readonly peer: string;

  private state: State;
  private readonly reader: FrameReader;
  private serverNonce: Buffer;
  private clientNonce: Buffer | null = null;
  private authTimer: NodeJS.Timeout | null;
  private errorCode: string | null = null;
  private resolveReady!: () => void;
  private rejectReady!: (e: HandshakeError) => void;
  private closedPromise: Promise<void>;

  private constructor(
    readonly socket: Socket,
    private readonly side: Side,
    private readonly options: ConnectionOptions,
    peer: string,
  ) {
    this.peer = peer;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    const pool = options.pool;
    this.reader = new FrameReader({
      allocate: (_type, length) => (this.state === 'open' && pool !== undefined ? pool.take(length) : Buffer.allocUnsafe(length)),
      frame: (type, payload) => this.handle(type, payload),
    });
    socket.setNoDelay(true);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.errorCode ??= e.code ?? e.message;
    });
    socket.on('close', () => this.ended(this.errorCode === null ? { kind: 'closed' } : { kind: 'error', code: this.errorCode }));
    this.authTimer = setTimeout(
      () => this.refuse(`did not finish authentication within ${options.authTimeoutMs} ms`, 'timeout'),
      options.authTimeoutMs,
    );
    if (side === 'server') {
      this.serverNonce = newNonce();
      this.state = 'response';
      socket.on('data', (chunk: Buffer) => this.feed(chunk, chunk.byteLength));
      this.write(encodeFrame(MessageType.Challenge, this.serverNonce));
    } else {
      this.serverNonce = Buffer.alloc(0);
      this.state = 'challenge';
    }
  }

  /** Server side of an accepted socket: sends the challenge at once. */
  static accept(socket: Socket, options: ConnectionOptions): Connection {
    return new Connection(socket, 'server', options, `${socket.remoteAddress}:${socket.remotePort}`);
  }

  /**
   * Client side. Incoming bytes land in one reused `readBuffer` (net's `onread`), so the receiving
   * side of a busy link allocates nothing per read.
   */
  static connect(host: string, port: number, options: ConnectionOptions, readBuffer: Buffer): Connection {
    let self: Connection | null = null;
    const socket = connect({
      host,
      port,
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          self?.feed(buf, n);
          return true;
        },
      },
    });
    self = new Connection(socket, 'client', options, `${host}:${port}`);
    return self;
  }

  /** Starts delivering frames (first any that came before) and the end of the connection. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const early = this.early;
    this.early = [];
    for (const [type, payload] of early) if (this.handlers === handlers) handlers.frame(type, payload);
    if (this.earlyEnd !== null && this.handlers === handlers) handlers.end(this.earlyEnd);
  }

  /** Stops delivering; frames from now on (and `unread`, first) wait for the next `attach`. */
  detach(unread: Array<[MessageType, Buffer]> = []): void {
    this.handlers = null;
    this.early.unshift(...unread);
  }

  get authenticated(): boolean {
    return this.state === 'open';
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** Sends a control frame. */
  send(type: MessageType, payload?: Uint8Array): void {
    this.write(encodeFrame(type, payload));
  }

  /**
   * Sends `[header][head][body]` without copying `body`; `done` runs once the body has left this
   * process's memory (or with an error when it never will), so `body` must not change before.
   */
  sendParts(type: MessageType, head: Uint8Array, body: Uint8Array | null, done: (err?: Error | null) => void): void {
    const bodyBytes = body === null ? 0 : body.byteLength;
    const first = Buffer.allocUnsafe(HEADER_BYTES + head.byteLength);
    writeHeader(first, 0, type, head.byteLength + bodyBytes);
    first.set(head, HEADER_BYTES);
    if (!this.writable()) {
      queueMicrotask(() => done(new Error('connection closed')));
      return;
    }
    this.socket.cork();
    if (body === null || bodyBytes === 0) {
      this.socket.write(first, done);
    } else {
      this.socket.write(first);
      this.socket.write(body, done);
    }
    this.socket.uncork();
  }

  /** Ends after flushing what was written; resolves when the socket is closed (destroyed after `graceMs`). */
  end(graceMs: number): Promise<void> {
    if (this.state !== 'ended') this.ended({ kind: 'local' });
    if (!this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), graceMs);
      t.unref();
      void this.closedPromise.then(() => clearTimeout(t));
    }
    return this.closedPromise;
  }

  destroy(): void {
    if (this.state !== 'ended') this.ended({ kind: 'local' });
    this.socket.destroy();
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  /** Ends an authenticated connection whose peer broke the protocol. */
  protocolError(detail: string): void {
    if (this.state === 'ended') return;
    this.ended({ kind: 'protocol', detail });
    this.socket.destroy();
  }

  private writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  private write(buf: Buffer): void {
    if (this.writable()) this.socket.write(buf);
  }

  private feed(chunk: Uint8Array, n: number): void {
    if (this.state === 'ended') return;
    this.lastReceived = performance.now();
    try {
      this.reader.push(chunk, n);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      if (this.state === 'open') this.protocolError(e.message);
      else this.refuse(e.message, 'protocol');
    }
  }

  private handle(type: MessageType, payload: Buffer): void {
    switch (this.state) {
      case 'open':
        if (this.handlers === null) this.early.push([type, payload]);
        else this.handlers.frame(type, payload);
        return;
      case 'response':
        if (type !== MessageType.Response) return this.refuse(`sent frame type ${type} before authenticating`, 'protocol');
        this.clientNonce = checkResponse(this.options.key, this.options.purpose, this.serverNonce, payload);
        if (this.clientNonce === null) {
          // Telling the client lets a rank with the wrong token fail fast instead of retrying.
          this.write(encodeFrame(MessageType.Reject, encodeJson({ message: 'authentication failed' })));
          return this.refuse('authentication failed (wrong token?)', 'bad-proof');
        }
        this.write(encodeFrame(MessageType.Confirm, proof(this.options.key, this.options.purpose, 'server', this.serverNonce, this.clientNonce)));
        return this.open();
      case 'challenge':
        if (type === MessageType.Reject) return this.refuse(decodeRejectSafe(payload), 'rejected');
        if (type !== MessageType.Challenge || payload.byteLength !== NONCE_BYTES) {
          return this.refuse(`sent frame type ${type} instead of a challenge`, 'protocol');
        }
        this.serverNonce = Buffer.from(payload);
        {
          const { clientNonce, response } = makeResponse(this.options.key, this.options.purpose, payload);
          this.clientNonce = clientNonce;
          this.write(encodeFrame(MessageType.Response, response));
        }
        this.state = 'confirm';
        return;
      case 'confirm':
        if (type === MessageType.Reject) return this.refuse(decodeRejectSafe(payload), 'rejected');
        if (type !== MessageType.Confirm || payload.byteLength !== MAC_BYTES) {
          return this.refuse(`sent frame type ${type} instead of a confirmation`, 'protocol');
        }
        if (!checkConfirm(this.options.key, this.options.purpose, this.serverNonce, this.clientNonce!, payload)) {
          return this.refuse('could not prove it knows the token', 'bad-proof');
        }
        return this.open();
      case 'ended':
        return;
    }
  }

  private open(): void {
    this.state = 'open';
    this.reader.maxPayload = this.options.maxFrameBytes;
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.resolveReady();
  }

  /** Drops a connection that has not authenticated. */
  private refuse(reason: string, kind: HandshakeError['kind']): void {
    if (this.state === 'open' || this.state === 'ended') return;
    if (this.side === 'server') this.options.log(`refused connection from ${this.peer}: ${reason}`);
    this.settleFailedHandshake(new HandshakeError(kind, reason));
    this.socket.destroy();
  }

  private settleFailedHandshake(error: HandshakeError): void {
    this.state = 'ended';
    this.reader.stop();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.rejectReady(error);
  }

  private ended(reason: EndReason): void {
    if (this.state === 'ended') return;
    if (this.state !== 'open') {
      const code = reason.kind === 'error' ? reason.code : undefined;
      const why = code === undefined ? 'connection closed during authentication' : `connection failed (${code})`;
      if (this.side === 'server' && reason.kind !== 'local') this.options.log(`refused connection from ${this.peer}: ${why}`);
      this.settleFailedHandshake(new HandshakeError(reason.kind === 'local' ? 'protocol' : 'network', why, code));
      return;
    }
    this.state = 'ended';
    this.reader.stop();
    if (this.handlers === null) this.earlyEnd = reason;
    else this.handlers.end(reason);
  }
}

function decodeRejectSafe(payload: Uint8Array): string {
  try {
    return decodeReject(payload).message;
  } catch {
    return 'rejected';
  }
}
