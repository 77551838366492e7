/**
 * The machine's reference BLAS: numpy's matmul (OpenBLAS, or whatever BLAS numpy was built
 * with) on one thread, timed in one `python3` child at each shape and transpose combination.
 */
import { execFile } from 'node:child_process';

export type Shape3 = [m: number, k: number, n: number];

export interface BlasOptions {
  /** The Python interpreter (default `python3`). */
  python?: string;
  /** Timed repeats per product; the best is kept (timeit's rule: the minimum is the least disturbed). */
  repeats: number;
  /** Seconds each repeat lasts at least (calls per repeat are calibrated to it). */
  minTime: number;
  /** The child is killed after this long (ms). */
  timeoutMs?: number;
}

export interface BlasResult {
  available: boolean;
  /** Why not, when unavailable (no python3, no numpy, the child failed). */
  reason?: string;
  numpy?: string;
  /** numpy's BLAS, as `numpy.show_config` names it (e.g. "scipy-openblas 0.3.31"). */
  blas?: string;
  /** BLAS threads as threadpoolctl reports them, when it is installed. */
  blasThreads?: number[];
  /** Seconds per call, keyed `"NN 100x784x500"`. */
  seconds: Record<string, number>;
}

/**
 * The child: A is stored K×M when transposed (M×K otherwise) and B N×K when transposed, exactly
 * as Loom's gemm takes them, and the product is `matmul(op(A), op(B), out=C)` on the views
 * (numpy hands a transposed view to sgemm as a transpose flag, no copy). `out=` keeps the
 * allocation of C out of the timing, as Loom writes into a preallocated C.
 */
const SCRIPT = String.raw`
import json, sys, time
try:
    import numpy as np
except Exception as e:
    print(json.dumps({"error": "import numpy failed: %s" % e}))
    sys.exit(0)
cfg = json.loads(sys.argv[1])
out = {"numpy": np.__version__, "seconds": {}}
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    out["blas"] = ("%s %s" % (blas.get("name", ""), blas.get("version", ""))).strip()
except Exception:
    pass
try:
    from threadpoolctl import threadpool_info
    out["blasThreads"] = [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"]
except Exception:
    pass
rng = np.random.default_rng(1)
clock = time.perf_counter
for m, k, n in cfg["shapes"]:
    for op in ("NN", "TN", "NT", "TT"):
        ta, tb = op[0] == "T", op[1] == "T"
        A = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        B = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        a = A.T if ta else A
        b = B.T if tb else B
        c = np.empty((m, n), dtype=np.float32)
        def run(calls):
            t0 = clock()
            for _ in range(calls):
                np.matmul(a, b, out=c)
            return clock() - t0
        run(3)
        calls = 1
        while True:
            t = run(calls)
            if t >= cfg["minTime"]:
                break
            calls = max(calls * 2, int(calls * cfg["minTime"] / max(t, 1e-9) * 1.2))
        best = min(run(calls) for _ in range(cfg["repeats"])) / calls
        out["seconds"]["%s %dx%dx%d" % (op, m, k, n)] = best
print(json.dumps(out))
`;

/**
 * The environment of the child: one BLAS thread, and without `OPENBLAS_CORETYPE` and
 * `OPENBLAS_L2_SIZE` (set on some machines for old OpenBLAS builds; they make a current numpy's
 * OpenBLAS pick a slower kernel). Both are removed together, and only here.
 */
export function blasEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = { ...env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  delete child.OPENBLAS_CORETYPE;
  delete child.OPENBLAS_L2_SIZE;
  return child;
}

/** Times numpy's single-thread matmul at every shape, all four transpose combinations. */
export function timeBlas(shapes: readonly Shape3[], o: BlasOptions): Promise<BlasResult> {
  const python = o.python ?? 'python3';
  const arg = JSON.stringify({ shapes, repeats: o.repeats, minTime: o.minTime });
  return new Promise((resolve) => {
    execFile(python, ['-c', SCRIPT, arg], { env: blasEnv(), timeout: o.timeoutMs ?? 600_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `${python} not found` : `${python} failed: ${(stderr || err.message).trim().split('\n').pop()}`;
        resolve({ available: false, reason: why, seconds: {} });
        return;
      }
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Partial<BlasResult> & { error?: string };
        if (parsed.error) resolve({ available: false, reason: parsed.error, seconds: {} });
        else resolve({ available: true, numpy: parsed.numpy, blas: parsed.blas, blasThreads: parsed.blasThreads, seconds: parsed.seconds ?? {} });
      } catch {
        resolve({ available: false, reason: `${python} printed no result: ${stdout.slice(0, 200)}`, seconds: {} });
      }
    });
  });
}
