/**
 * One process of the distributed suite; `node distributed-child.js MODE 'JSON options'` prints one
 * JSON line on stdout (rank 0's is the one the suite reads). Modes:
 * - `fit`: times training steps of the MNIST MLP through `fit` (timeLoomSteps), in the process
 *   group torchrun's variables describe when they are set, else alone.
 * - `allreduce`: joins the group from torchrun's variables and times `allReduce` at each size.
 * - `tcp-send` / `tcp-recv`: raw loopback TCP, one way, as the all-reduce's baseline.
 * - `tcp-duplex`: raw loopback TCP both ways at once (each process sends while it receives), as a
 *   2-rank ring does: the baseline with the same work per process as the all-reduce.
 */
import { connect, createServer, type Socket } from 'node:net';
import { groupOptionsFromEnv, initProcessGroup, shutdown } from '@loom/loom';
import { loadMlpData, median, timeLoomSteps } from './mlp.js';

export interface FitChildOptions {
  hidden: number[];
  batchSize: number;
  workers: number;
  warmupSteps: number;
  steps: number;
}

export interface AllReduceChildOptions {
  floats: number[];
  /** Untimed calls on a small array before the first size. */
  jitWarmup: number;
  /** Untimed calls at each size before its timed ones. */
  warmup: number;
  repeats: number;
}

export interface TcpChildOptions {
  port: number;
  bytes: number;
  writeBytes: number;
  rounds: number;
}

/** What `allreduce` prints: per size, every timed call's milliseconds on this rank. */
export interface AllReduceChildResult {
  rank: number;
  worldSize: number;
  sizes: { floats: number; medianMs: number; ms: number[] }[];
}

export interface TcpDuplexOptions extends TcpChildOptions {
  /** One side listens, the other connects. */
  listen: boolean;
}

/** What `tcp-recv` prints: each round's bytes and seconds from its first byte to its last. */
export interface TcpChildResult {
  rounds: { bytes: number; seconds: number }[];
}

const MNIST_TRAIN = 60_000;

async function fitMode(o: FitChildOptions): Promise<unknown> {
  const samples = (o.warmupSteps + o.steps) * o.batchSize;
  // timeLoomSteps repeats the rows when the run needs more than MNIST has.
  const data = await loadMlpData(Math.min(MNIST_TRAIN, samples), 100);
  const timing = await timeLoomSteps(data, { ...o, seed: 1 });
  return { rank: Number(process.env.RANK ?? 0), worldSize: Number(process.env.WORLD_SIZE ?? 1), timing };
}

async function allReduceMode(o: AllReduceChildOptions): Promise<AllReduceChildResult> {
  const options = groupOptionsFromEnv();
  if (!options) throw new Error('allreduce: WORLD_SIZE is not set');
  const group = await initProcessGroup(options);
  const sizes: AllReduceChildResult['sizes'] = [];
  try {
    // The ring's code runs its first few dozen calls slower (the JIT has not optimised it yet),
    // whichever size comes first: warm it once on a small array before any size is timed.
    const small = new Float32Array(16_384);
    for (let i = 0; i < o.jitWarmup; i++) {
      small.fill(1);
      await group.allReduce(small);
    }
    for (const floats of o.floats) {
      const data = new Float32Array(floats);
      const ms: number[] = [];
      for (let i = 0; i < o.warmup + o.repeats; i++) {
        data.fill(1); // fresh values each call (sums of sums would overflow), outside the clock
        // Every rank starts the call within a hop of the others, as after a step's equal compute.
        await group.barrier();
        const t0 = performance.now();
        await group.allReduce(data);
        if (i >= o.warmup) ms.push(performance.now() - t0);
      }
      if (data[0] !== group.worldSize) throw new Error(`allreduce: got ${data[0]} after summing 1 over ${group.worldSize} ranks`);
      sizes.push({ floats, medianMs: median(ms), ms: ms.map((m) => +m.toFixed(4)) });
    }
  } finally {
    await group.close();
  }
  return { rank: group.rank, worldSize: group.worldSize, sizes };
}

/** Listens on the port, and on the one connection writes `bytes` per round in `writeBytes` writes, waiting for an ack after each. */
function tcpSend(o: TcpChildOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(o.writeBytes, 7);
    const server = createServer((socket: Socket) => {
      server.close();
      socket.setNoDelay(true);
      let acks = 0;
      const round = async () => {
        for (let sent = 0; sent < o.bytes; sent += o.writeBytes) {
          const n = Math.min(o.writeBytes, o.bytes - sent);
          if (!socket.write(n === o.writeBytes ? chunk : chunk.subarray(0, n))) await new Promise((r) => socket.once('drain', r));
        }
      };
      socket.on('data', (d: Buffer) => {
        acks += d.byteLength;
        if (acks < o.rounds) round().catch(reject);
        else socket.end(() => resolve({ sent: o.bytes * o.rounds }));
      });
      socket.on('error', reject);
      round().catch(reject);
    });
    server.on('error', reject);
    server.listen(o.port, '127.0.0.1');
  });
}

/** Connects (retrying until the sender listens), reads into one reused buffer, times each round. */
async function tcpRecv(o: TcpChildOptions): Promise<TcpChildResult> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    try {
      return await tcpRecvOnce(o);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function tcpRecvOnce(o: TcpChildOptions): Promise<TcpChildResult> {
  return new Promise((resolve, reject) => {
    const rounds: TcpChildResult['rounds'] = [];
    let got = 0, t0 = 0;
    const socket = connect({
      port: o.port, host: '127.0.0.1',
      // net's onread: every read lands in this one buffer, so the receiver allocates nothing per read.
      onread: {
        buffer: Buffer.alloc(1 << 20),
        callback: (n: number) => {
          if (got === 0) t0 = performance.now();
          got += n;
          if (got >= o.bytes) {
            rounds.push({ bytes: got, seconds: (performance.now() - t0) / 1000 });
            got = 0;
            if (rounds.length < o.rounds) socket.write(Buffer.of(1));
            else {
              socket.end(Buffer.of(1));
              resolve({ rounds });
            }
          }
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    socket.on('error', (e) => (rounds.length === o.rounds ? undefined : reject(e)));
  });
}

/**
 * Both sides write `bytes` per round in `writeBytes` writes while reading the peer's; a round ends
 * on this side when its writes are flushed and the peer's bytes have all arrived. Reports, per
 * round, the bytes this side sent and the seconds that took.
 */
function tcpDuplex(o: TcpDuplexOptions): Promise<TcpChildResult> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(o.writeBytes, 7);
    const rounds: TcpChildResult['rounds'] = [];
    const run = (socket: Socket) => {
      socket.setNoDelay(true);
      let received = 0, t0 = 0, sent = false;
      const maybeDone = () => {
        if (!sent || received < o.bytes * (rounds.length + 1)) return;
        rounds.push({ bytes: o.bytes, seconds: (performance.now() - t0) / 1000 });
        if (rounds.length < o.rounds) void round();
        else socket.end(() => resolve({ rounds }));
      };
      const round = async () => {
        sent = false;
        t0 = performance.now();
        for (let n = 0; n < o.bytes; n += o.writeBytes) {
          const part = Math.min(o.writeBytes, o.bytes - n);
          if (!socket.write(part === o.writeBytes ? chunk : chunk.subarray(0, part))) await new Promise((r) => socket.once('drain', r));
        }
        await new Promise<void>((r) => socket.write(Buffer.alloc(0), () => r()));
        sent = true;
        maybeDone();
      };
      socket.on('data', (d: Buffer) => {
        received += d.byteLength;
        maybeDone();
      });
      socket.on('error', (e) => (rounds.length === o.rounds ? undefined : reject(e)));
      void round();
    };
    if (o.listen) {
      const server = createServer((socket) => {
        server.close();
        run(socket);
      });
      server.on('error', reject);
      server.listen(o.port, '127.0.0.1');
    } else {
      const deadline = performance.now() + 20_000;
      const attempt = () => {
        const socket = connect(o.port, '127.0.0.1');
        socket.once('connect', () => run(socket));
        socket.once('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'ECONNREFUSED' && performance.now() < deadline) setTimeout(attempt, 50);
          else reject(e);
        });
      };
      attempt();
    }
  });
}

const mode = process.argv[2];
const options = JSON.parse(process.argv[3] ?? '{}') as never;
let out: unknown;
switch (mode) {
  case 'fit':
    out = await fitMode(options);
    break;
  case 'allreduce':
    out = await allReduceMode(options);
    break;
  case 'tcp-send':
    out = await tcpSend(options);
    break;
  case 'tcp-recv':
    out = await tcpRecv(options);
    break;
  case 'tcp-duplex':
    out = await tcpDuplex(options);
    break;
  default:
    throw new Error(`distributed-child: unknown mode ${JSON.stringify(mode)}: expected fit, allreduce, tcp-send, tcp-recv or tcp-duplex`);
}
console.log(JSON.stringify(out));
await shutdown();
