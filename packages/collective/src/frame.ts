/**
 * The wire format: `[u32 LE payload length][u8 type][payload]`. The reader checks the length
 * against a cap and the type against the known ones as soon as the 5 header bytes are in, before
 * it allocates or buffers anything for the payload.
 */

/** Every frame type on the wire; a byte outside this list ends the connection. */
export enum MessageType {
  /** Server → client: a 32-byte random nonce. */
  Challenge = 1,
  /** Client → server: its own 32-byte nonce, then HMAC-SHA256(token, client label | both nonces). */
  Response = 2,
  /** Server → client: HMAC-SHA256(token, server label | both nonces). */
  Confirm = 3,
  /** Either side: JSON `{ message, rank? }`; the sender gives up on this rendezvous or connection. */
  Reject = 4,
  /** Rank → rank 0: JSON {@link JoinMessage}. */
  Join = 5,
  /** Rank 0 → every rank: JSON {@link TableMessage}, the ring's addresses. */
  Table = 6,
  /** Rank → rank 0: both ring links are up. */
  Ready = 7,
  /** Rank 0 → every rank: every ring link is up; rendezvous is over. */
  Go = 8,
  /** Ring client → ring server: JSON `{ rank }`, who is knocking. */
  RingHello = 9,
  /** Either side of a ring link, every heartbeat interval; empty. */
  Heartbeat = 10,
  /** Either side of a ring link: close() was called; an end of stream after it is not a failure. */
  Goodbye = 11,
  /** Either side of a ring link: JSON `{ message, rank? }`, the group failed; forwarded round the ring. */
  Abort = 12,
  /** allReduce, reduce-scatter phase: `[u32 total][u32 offset]` then float32s, added in. */
  Reduce = 13,
  /** allReduce, all-gather phase: `[u32 total][u32 offset]` then float32s, copied in. */
  Gather = 14,
  /** broadcast / allGather / sumInRankOrder / barrier: `[u8 op][u32 origin][u32 total][u32 offset]` then bytes. */
  Stream = 15,
}

const LAST_TYPE = MessageType.Stream;
export const HEADER_BYTES = 5;
/** Payload cap before authentication: the largest auth frame is 64 bytes, a Reject a few dozen more. */
export const PRE_AUTH_MAX_PAYLOAD = 256;
/** Default payload cap after authentication. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export function isMessageType(type: number): type is MessageType {
  return Number.isInteger(type) && type >= MessageType.Challenge && type <= LAST_TYPE;
}

/** A frame as one Buffer (control messages; data frames are written as header + body views). */
export function encodeFrame(type: MessageType, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.byteLength);
  writeHeader(out, 0, type, payload.byteLength);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Writes a frame header at `at` for a payload of `length` bytes. */
export function writeHeader(out: Buffer, at: number, type: MessageType, length: number): void {
  out.writeUInt32LE(length, at);
  out[at + 4] = type;
}

const EMPTY = new Uint8Array(0);

/** Why a byte stream was refused; the connection that fed it is destroyed. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Buffers for frame payloads, reused: a frame up to `size` bytes borrows one and gives it back
 * when its consumer is done, so steady-state traffic of chunk-sized frames allocates nothing.
 * Every buffer starts at byte 0 of its own ArrayBuffer, so a payload can be viewed as floats.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep = 16,
  ) {}

  take(length: number): Buffer {
    if (length > this.size) return Buffer.from(new ArrayBuffer(length));
    const ab = this.free.pop() ?? new ArrayBuffer(this.size);
    return Buffer.from(ab, 0, length);
  }

  give(buf: Uint8Array): void {
    const ab = buf.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === this.size && buf.byteOffset === 0 && this.free.length < this.keep) {
      this.free.push(ab);
    }
  }
}

/** Where a reader puts what it parses. */
export interface FrameSink {
  /** The buffer a payload of `length` bytes is copied into (called once its header checked out). */
  allocate(type: MessageType, length: number): Buffer;
  /** A whole frame; `payload` is what `allocate` returned. May raise the cap or stop the reader. */
  frame(type: MessageType, payload: Buffer): void;
}

/**
 * Incremental frame parser. `push` takes bytes as they come (any split, including one byte at a
 * time) and copies them out, so the caller may reuse its read buffer as soon as `push` returns.
 * It throws {@link FrameError} for an unknown type or a length over `maxPayload`.
 */
export class FrameReader {
  /** Payload cap; the owner raises it after authentication. */
  maxPayload: number;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private type: MessageType = MessageType.Challenge;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private stopped = false;

  constructor(
    private readonly sink: FrameSink,
    maxPayload = PRE_AUTH_MAX_PAYLOAD,
  ) {
    this.maxPayload = maxPayload;
  }

  /** Bytes of a frame started but not finished (a half-sent frame that stalls shows here). */
  get partial(): number {
    return this.payload === null ? this.headerFill : HEADER_BYTES + this.payloadFill;
  }

  /** Drops any later input (the connection is going away). */
  stop(): void {
    this.stopped = true;
    this.payload = null;
  }

  push(chunk: Uint8Array, length = chunk.byteLength): void {
    let at = 0;
    while (at < length && !this.stopped) {
      if (this.payload === null) {
        const n = Math.min(HEADER_BYTES - this.headerFill, length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFill);
        this.headerFill += n;
        at += n;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        this.startPayload();
      } else {
        const n = Math.min(this.payload.byteLength - this.payloadFill, length - at);
        this.payload.set(chunk.subarray(at, at + n), this.payloadFill);
        this.payloadFill += n;
        at += n;
      }
      if (this.payload !== null && this.payloadFill === this.payload.byteLength) this.finish();
    }
  }

  private startPayload(): void {
    const length = this.header.readUInt32LE(0);
    const type = this.header[4]!;
    if (!isMessageType(type)) throw new FrameError(`unknown frame type ${type}`);
    if (length > this.maxPayload) {
      throw new FrameError(`frame of ${length} bytes is over the cap of ${this.maxPayload} bytes`);
    }
    this.type = type;
    this.payload = this.sink.allocate(type, length);
    this.payloadFill = 0;
  }

  private finish(): void {
    const payload = this.payload!;
    this.payload = null;
    this.sink.frame(this.type, payload);
  }
}
