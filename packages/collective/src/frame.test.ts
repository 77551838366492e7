import { describe, expect, it } from 'vitest';
import { BufferPool, encodeFrame, FrameError, FrameReader, HEADER_BYTES, MessageType, PRE_AUTH_MAX_PAYLOAD, type FrameSink } from './frame.js';

function collect(maxPayload?: number): { reader: FrameReader; frames: Array<[MessageType, Buffer]>; allocated: number[] } {
  const frames: Array<[MessageType, Buffer]> = [];
  const allocated: number[] = [];
  const sink: FrameSink = {
    allocate: (_t, n) => {
      allocated.push(n);
      return Buffer.alloc(n);
    },
    frame: (t, p) => frames.push([t, Buffer.from(p)]),
  };
  return { reader: new FrameReader(sink, maxPayload), frames, allocated };
}

describe('framing', () => {
  it('encodes [u32 LE length][u8 type][payload]', () => {
    const f = encodeFrame(MessageType.Join, Buffer.from('abc'));
    expect([...f]).toEqual([3, 0, 0, 0, MessageType.Join, 97, 98, 99]);
    expect(encodeFrame(MessageType.Heartbeat).byteLength).toBe(HEADER_BYTES);
  });

  it('parses frames split at every byte, and several frames in one chunk', () => {
    const stream = Buffer.concat([
      encodeFrame(MessageType.Heartbeat),
      encodeFrame(MessageType.Join, Buffer.from('{"a":1}')),
      encodeFrame(MessageType.Goodbye),
    ]);
    const one = collect();
    for (let i = 0; i < stream.length; i++) one.reader.push(stream.subarray(i, i + 1));
    const all = collect();
    all.reader.push(stream);
    for (const { frames } of [one, all]) {
      expect(frames.map(([t]) => t)).toEqual([MessageType.Heartbeat, MessageType.Join, MessageType.Goodbye]);
      expect(frames[1]![1].toString()).toBe('{"a":1}');
    }
  });

  it('honours the length argument (a reused read buffer with stale bytes after it)', () => {
    const c = collect();
    const buf = Buffer.alloc(64, 0xee);
    encodeFrame(MessageType.Heartbeat).copy(buf);
    c.reader.push(buf, HEADER_BYTES);
    expect(c.frames).toHaveLength(1);
    expect(c.reader.partial).toBe(0);
  });

  it('refuses a length over the cap from the header alone, before allocating', () => {
    const c = collect();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(2 ** 31, 0);
    header[4] = MessageType.Response;
    expect(() => c.reader.push(header)).toThrow(FrameError);
    expect(() => collect().reader.push(header)).toThrow(`frame of ${2 ** 31} bytes is over the cap of ${PRE_AUTH_MAX_PAYLOAD} bytes`);
    expect(c.allocated).toEqual([]);
  });

  it('refuses unknown frame types', () => {
    for (const type of [0, 16, 255]) {
      const c = collect();
      expect(() => c.reader.push(Buffer.from([0, 0, 0, 0, type]))).toThrow(`unknown frame type ${type}`);
      expect(c.allocated).toEqual([]);
    }
  });

  it('applies a raised cap to the next frame, even within the same chunk', () => {
    const frames: MessageType[] = [];
    const reader: FrameReader = new FrameReader({
      allocate: (_t, n) => Buffer.alloc(n),
      frame: (t) => {
        frames.push(t);
        reader.maxPayload = 1000;
      },
    });
    reader.push(Buffer.concat([encodeFrame(MessageType.Confirm, Buffer.alloc(32)), encodeFrame(MessageType.Table, Buffer.alloc(900))]));
    expect(frames).toEqual([MessageType.Confirm, MessageType.Table]);
  });

  it('reports a half-sent frame as partial', () => {
    const c = collect();
    c.reader.push(encodeFrame(MessageType.Response, Buffer.alloc(64)).subarray(0, 20));
    expect(c.reader.partial).toBe(20);
    expect(c.frames).toEqual([]);
  });
});

describe('BufferPool', () => {
  it('reuses buffers of its size, which start at byte 0 of their own ArrayBuffer', () => {
    const pool = new BufferPool(1024);
    const a = pool.take(100);
    expect(a.byteOffset).toBe(0);
    expect(a.byteLength).toBe(100);
    pool.give(a);
    const b = pool.take(1000);
    expect(b.buffer).toBe(a.buffer);
    const big = pool.take(5000);
    expect(big.byteLength).toBe(5000);
    pool.give(big); // not kept: wrong size
    expect(pool.take(10).buffer).not.toBe(big.buffer);
  });
});
