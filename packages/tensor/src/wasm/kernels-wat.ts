/**
 * Generates the WebAssembly text of Loom's SIMD kernels. A generator (rather than a hand-written
 * .wat file) because the register-blocked inner loop is the same few lines repeated per
 * accumulator, and because the relaxed-SIMD build differs only in the multiply-add.
 *
 * gemm: C[m,n] (+)= A[m,k] · B[k,n] over one depth block, with A(i, p) at a + i·rsA + p·csA and
 * B(p, j) at b + p·rsB + j·csB (bytes), so a transposed operand is only a change of strides.
 * A is packed once into 4-row panels, k-major (panel[p·4 + r] = A(i+r, p)), zero-padded below
 * the last row; the kernel reads a panel with one pointer and load-and-splat. B is read in place
 * 8 columns at a time when its rows are contiguous, and otherwise (a transposed B, or the last
 * columns short of 8) packed into one zero-padded k×8 panel. Column blocks are the outer loop,
 * so one B panel stays in L1 while the packed A streams past it from L2.
 *
 * Every element of C is a sum over p in ascending order of the same f32 multiply-add (or fused
 * madd) starting from zero, in full blocks, row tails and column tails alike: a sample's result
 * does not depend on how many rows share its batch, nor on its position.
 */
import { batchNormWat } from './batch-norm-wat.js';
import { convWat } from './conv-wat.js';
import { loop, minU as min } from './wat.js';

/**
 * From this many rows of C, B's column panels are packed even when its rows are contiguous: the
 * copy is then paid back by the blocks that reuse it, and a packed panel avoids the L1 set
 * conflicts of row strides near a power of two (measured: 512³ NN 37 → 41 GFLOP/s).
 */
export const PACK_B_FROM_ROWS = 128;

export function kernelsWat(options: { relaxed: boolean }): string {
  const { relaxed } = options;
  // acc += x·y, lane-wise: one rounding with relaxed madd (FMA where the CPU has it), two without.
  const madd = (acc: string, x: string, y: string): string =>
    relaxed
      ? `(local.set ${acc} (f32x4.relaxed_madd (local.get ${x}) (local.get ${y}) (local.get ${acc})))`
      : `(local.set ${acc} (f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${x}) (local.get ${y}))))`;
  const accs = Array.from({ length: 8 }, (_, i) => `$c${i}`);
  const zero = '(v128.const i32x4 0 0 0 0)';
  // Pack A into ceil(m/4) panels of k×4 floats at $packA.
  const packA = `
    (local.set $dst (local.get $packA))
    (local.set $ib (i32.const 0))
    ${loop('pka', '$ib', '(local.get $m)', '(i32.const 4)', `
      (local.set $rows ${min('(i32.sub (local.get $m) (local.get $ib))', '(i32.const 4)')})
      (local.set $src (i32.add (local.get $a) (i32.mul (local.get $ib) (local.get $rsA))))
      (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $rsA) (i32.const 4)))
        (then ;; a transposed A: the panel's four values of each p are adjacent
          (local.set $p (i32.const 0))
          ${loop('pkt', '$p', '(local.get $k)', '(i32.const 1)', `
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (local.get $csA)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))`)})
        (else
          (local.set $p (i32.const 0))
          ${loop('pkz', '$p', '(local.get $panelBytes)', '(i32.const 16)', `
            (v128.store (i32.add (local.get $dst) (local.get $p)) ${zero})`)}
          (local.set $r (i32.const 0))
          ${loop('pkr', '$r', '(local.get $rows)', '(i32.const 1)', `
            (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $rsA))))
            (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
            (local.set $p (i32.const 0))
            ${loop('pkp', '$p', '(local.get $k)', '(i32.const 1)', `
              (f32.store (local.get $d) (f32.load (local.get $s)))
              (local.set $s (i32.add (local.get $s) (local.get $csA)))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))`)}`)}
          (local.set $dst (i32.add (local.get $dst) (local.get $panelBytes)))))`)}`;
  // B's columns jb..jb+cols-1 as one k×8 panel at $packB, zero beyond cols. Eight contiguous
  // columns are two vector copies per p; columns of a transposed B (contiguous along p) go
  // through 4×4 register transposes; anything else (the last columns) one float at a time.
  const lanes = (...ls: number[]) => ls.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)).join(' ');
  const shuffle = (x: string, y: string, ls: number[]) => `(i8x16.shuffle ${lanes(...ls)} (local.get ${x}) (local.get ${y}))`;
  const transpose4 = (half: 0 | 1) => `
        (local.set $s (i32.add (local.get $b) (i32.add (i32.mul (i32.add (local.get $jb) (i32.const ${4 * half})) (local.get $csB)) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $t0 (v128.load (local.get $s)))
        (local.set $t1 (v128.load (i32.add (local.get $s) (local.get $csB))))
        (local.set $t2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $csB) (i32.const 1)))))
        (local.set $t3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $csB) (i32.const 3)))))
        (local.set $u0 ${shuffle('$t0', '$t1', [0, 4, 1, 5])})
        (local.set $u1 ${shuffle('$t0', '$t1', [2, 6, 3, 7])})
        (local.set $u2 ${shuffle('$t2', '$t3', [0, 4, 1, 5])})
        (local.set $u3 ${shuffle('$t2', '$t3', [2, 6, 3, 7])})
        (local.set $d (i32.add (local.get $packB) (i32.add (i32.shl (local.get $p) (i32.const 5)) (i32.const ${16 * half}))))
        (v128.store offset=0 (local.get $d) ${shuffle('$u0', '$u2', [0, 1, 4, 5])})
        (v128.store offset=32 (local.get $d) ${shuffle('$u0', '$u2', [2, 3, 6, 7])})
        (v128.store offset=64 (local.get $d) ${shuffle('$u1', '$u3', [0, 1, 4, 5])})
        (v128.store offset=96 (local.get $d) ${shuffle('$u1', '$u3', [2, 3, 6, 7])})`;
  const packB = `
    (local.set $p (i32.const 0))
    (if (i32.lt_u (local.get $cols) (i32.const 8)) (then
      ${loop('pbz', '$p', '(i32.shl (local.get $k) (i32.const 5))', '(i32.const 16)', `
        (v128.store (i32.add (local.get $packB) (local.get $p)) ${zero})`)}
      (local.set $p (i32.const 0))))
    (if (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $csB) (i32.const 4)))
      (then
        (local.set $s (i32.add (local.get $b) (i32.shl (local.get $jb) (i32.const 2))))
        (local.set $d (local.get $packB))
        ${loop('pbn', '$p', '(local.get $k)', '(i32.const 1)', `
          (v128.store (local.get $d) (v128.load (local.get $s)))
          (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s)))
          (local.set $s (i32.add (local.get $s) (local.get $rsB)))
          (local.set $d (i32.add (local.get $d) (i32.const 32)))`)})
      (else
        (if (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $rsB) (i32.const 4))) (then
          ${loop('pbt', '$p', '(i32.and (local.get $k) (i32.const -4))', '(i32.const 4)', `${transpose4(0)}${transpose4(1)}`)}))
        ;; whatever is left: p from where the vector loop stopped, every column there is
        (local.set $r (local.get $p))
        (local.set $q (i32.const 0))
        ${loop('pbq', '$q', '(local.get $cols)', '(i32.const 1)', `
          (local.set $s (i32.add (local.get $b) (i32.add (i32.mul (i32.add (local.get $jb) (local.get $q)) (local.get $csB)) (i32.mul (local.get $r) (local.get $rsB)))))
          (local.set $d (i32.add (local.get $packB) (i32.add (i32.shl (local.get $r) (i32.const 5)) (i32.shl (local.get $q) (i32.const 2)))))
          (local.set $p (local.get $r))
          ${loop('pbp', '$p', '(local.get $k)', '(i32.const 1)', `
            (f32.store (local.get $d) (f32.load (local.get $s)))
            (local.set $s (i32.add (local.get $s) (local.get $rsB)))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))`)}`)}))`;
  // The product of `rows` (4 or 1) rows of an A panel and the 8-column B panel, into $c0.. (two
  // per row).
  const block = (rows: 4 | 1, label: string) => `
      ${accs.slice(0, 2 * rows).map((c) => `(local.set ${c} ${zero})`).join(' ')}
      (local.set $pp (local.get $pa))
      (local.set $ppEnd (i32.add (local.get $pa) (local.get $panelBytes)))
      (local.set $pb (local.get $pb0))
      (block $${label}_end (loop $${label}
        (br_if $${label}_end (i32.ge_u (local.get $pp) (local.get $ppEnd)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        ${Array.from({ length: rows }, (_, r) => `
        (local.set $x (v128.load32_splat offset=${4 * r} (local.get $pp)))
        ${madd(`$c${2 * r}`, '$x', '$b0')} ${madd(`$c${2 * r + 1}`, '$x', '$b1')}`).join('')}
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (local.get $sB)))
        (br $${label})))`;
  // Writes the block's rows that exist (4, or fewer in the last panel) at C(ib, jb): as vectors
  // when 8 columns fit, else through $tmp one float at a time.
  const storeRow = (r: number) => `
            (if (local.get $acc) (then
              (local.set $c${2 * r} (f32x4.add (v128.load (local.get $pc)) (local.get $c${2 * r})))
              (local.set $c${2 * r + 1} (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c${2 * r + 1})))))
            (v128.store (local.get $pc) (local.get $c${2 * r}))
            (v128.store offset=16 (local.get $pc) (local.get $c${2 * r + 1}))
            (local.set $pc (i32.add (local.get $pc) (local.get $rsC)))`;
  const store = `
      (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $ib) (local.get $n)) (local.get $jb)) (i32.const 2))))
      (local.set $rows ${min('(i32.sub (local.get $m) (local.get $ib))', '(i32.const 4)')})
      (if (i32.eq (local.get $cols) (i32.const 8))
        (then
          ${storeRow(0)}
          ${[1, 2, 3].map((r) => `(if (i32.gt_u (local.get $rows) (i32.const ${r})) (then ${storeRow(r)}))`).join('\n          ')})
        (else
          ${accs.map((c, i) => `(v128.store offset=${16 * i} (local.get $tmp) (local.get ${c}))`).join(' ')}
          (local.set $r (i32.const 0))
          ${loop('str', '$r', '(local.get $rows)', '(i32.const 1)', `
            (local.set $q (i32.const 0))
            ${loop('stq', '$q', '(local.get $cols)', '(i32.const 1)', `
              (local.set $d (i32.add (local.get $pc) (i32.shl (local.get $q) (i32.const 2))))
              (local.set $v (f32.load (i32.add (local.get $tmp) (i32.add (i32.shl (local.get $r) (i32.const 5)) (i32.shl (local.get $q) (i32.const 2))))))
              (if (local.get $acc) (then (local.set $v (f32.add (f32.load (local.get $d)) (local.get $v)))))
              (f32.store (local.get $d) (local.get $v))`)}
            (local.set $pc (i32.add (local.get $pc) (local.get $rsC)))`)}))`;
  // gemm_row32: one row of C (+)= one row of A times `groups`·32 columns of B read in place, over
  // one depth block: A(p) at a + p·csA, B(p, j) at b + p·rsB + 4j, C(j) at c + 4j. Each group
  // of 32 columns is a 1×32 block, eight accumulators, where gemm's 1-row block keeps two and is
  // bound by the multiply-add's latency: wasmGemm hands it the last row of a batch of 4i + 1
  // rows (1, 5, 9, …). Each element is the same sum as in gemm. Each half's four B loads sit
  // behind a never-taken branch ($pp, an address in the memory, is never 1 or 2), which keeps
  // V8 from hoisting all eight above the multiply-adds and spilling accumulators.
  const row32 = `
  (func (export "gemm_row32") (param $k i32) (param $a i32) (param $csA i32) (param $b i32) (param $rsB i32) (param $c i32)
      (param $groups i32) (param $acc i32)
    (local $g i32) (local $p i32) (local $pp i32) (local $pb i32) (local $pc i32) (local $x v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ${accs.map((c) => `(local ${c} v128)`).join(' ')}
    (local.set $g (i32.const 0))
    ${loop('rg', '$g', '(local.get $groups)', '(i32.const 1)', `
      ${accs.map((c) => `(local.set ${c} ${zero})`).join(' ')}
      (local.set $pp (local.get $a))
      (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $g) (i32.const 7))))
      (local.set $p (i32.const 0))
      ${loop('rp', '$p', '(local.get $k)', '(i32.const 1)', `
        (local.set $x (v128.load32_splat (local.get $pp)))
        ${[0, 1].map((h) => `
        (block $rh${h} (br_if $rh${h} (i32.eq (local.get $pp) (i32.const ${h + 1})))
          ${[0, 1, 2, 3].map((q) => `(local.set $t${q} (v128.load offset=${16 * (4 * h + q)} (local.get $pb)))`).join(' ')}
          ${[0, 1, 2, 3].map((q) => madd(`$c${4 * h + q}`, '$x', `$t${q}`)).join(' ')})`).join('')}
        (local.set $pp (i32.add (local.get $pp) (local.get $csA)))
        (local.set $pb (i32.add (local.get $pb) (local.get $rsB)))`)}
      (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $g) (i32.const 7))))
      ${accs.map((c, q) => `
      (if (local.get $acc) (then (local.set ${c} (f32x4.add (v128.load offset=${16 * q} (local.get $pc)) (local.get ${c})))))
      (v128.store offset=${16 * q} (local.get $pc) (local.get ${c}))`).join('')}`)}
  )`;
  // act(x) for the elementwise kernels, chosen at run time by $act (0 linear, 1 relu, 2 leaky).
  const positive = (x: string) => `(f32x4.gt ${x} (v128.const f32x4 0 0 0 0))`;
  const actV = (v: string) => `
          (if (result v128) (i32.eq (local.get $act) (i32.const 1))
            (then (v128.and (local.get ${v}) ${positive(`(local.get ${v})`)}))
            (else (if (result v128) (i32.eq (local.get $act) (i32.const 2))
              (then (v128.bitselect (local.get ${v}) (f32x4.mul (local.get $A) (local.get ${v})) ${positive(`(local.get ${v})`)}))
              (else (local.get ${v})))))`;
  const actS = (v: string) => `
          (if (result f32) (i32.eq (local.get $act) (i32.const 0)) (then (local.get ${v}))
            (else (select (local.get ${v})
              (if (result f32) (i32.eq (local.get $act) (i32.const 2)) (then (f32.mul (local.get $alpha) (local.get ${v}))) (else (f32.const 0)))
              (f32.gt (local.get ${v}) (f32.const 0)))))`;
  const gradV = (z: string, dy: string) => `
          (if (result v128) (i32.eq (local.get $act) (i32.const 0)) (then ${dy})
            (else (if (result v128) (i32.eq (local.get $act) (i32.const 1))
              (then (v128.and ${dy} ${positive(z)}))
              (else (v128.bitselect ${dy} (f32x4.mul (local.get $A) ${dy}) ${positive(z)})))))`;
  const gradS = (z: string, dy: string) => `
          (if (result f32) (i32.eq (local.get $act) (i32.const 0)) (then ${dy})
            (else (select ${dy}
              (if (result f32) (i32.eq (local.get $act) (i32.const 2)) (then (f32.mul (local.get $alpha) ${dy})) (else (f32.const 0)))
              (f32.gt ${z} (f32.const 0)))))`;
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ;; C (+)= A·B over one depth block of k (see the top of kernels-wat.ts). Scratch: $packA holds
  ;; ceil(m/4)·4·k floats, $packB 8·k floats, $tmp 32 floats.
  (func (export "gemm") (param $m i32) (param $n i32) (param $k i32)
      (param $a i32) (param $rsA i32) (param $csA i32) (param $b i32) (param $rsB i32) (param $csB i32)
      (param $c i32) (param $acc i32) (param $packA i32) (param $packB i32) (param $tmp i32)
    (local $ib i32) (local $jb i32) (local $p i32) (local $r i32) (local $q i32) (local $rows i32) (local $cols i32)
    (local $rsC i32) (local $panelBytes i32) (local $src i32) (local $dst i32) (local $s i32) (local $d i32)
    (local $pa i32) (local $pb0 i32) (local $sB i32) (local $pb i32) (local $pc i32) (local $pp i32) (local $ppEnd i32)
    (local $b0 v128) (local $b1 v128) (local $x v128) (local $v f32)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    ${accs.map((c) => `(local ${c} v128)`).join(' ')}
    (local.set $rsC (i32.shl (local.get $n) (i32.const 2)))
    (local.set $panelBytes (i32.shl (local.get $k) (i32.const 4)))
        ${packA}
    (local.set $jb (i32.const 0))
    ${loop('jb', '$jb', '(local.get $n)', '(i32.const 8)', `
      (local.set $cols ${min('(i32.sub (local.get $n) (local.get $jb))', '(i32.const 8)')})
      (if (i32.and (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $csB) (i32.const 4)))
            (i32.lt_u (local.get $m) (i32.const ${PACK_B_FROM_ROWS})))
        (then
          (local.set $pb0 (i32.add (local.get $b) (i32.shl (local.get $jb) (i32.const 2))))
          (local.set $sB (local.get $rsB)))
        (else
          ${packB}
          (local.set $pb0 (local.get $packB))
          (local.set $sB (i32.const 32))))
      (local.set $pa (local.get $packA))
      (local.set $ib (i32.const 0))
      ;; The last panel is zero-padded below m, so 2 or 3 rows left run the 4-row block (one pass
      ;; instead of one per row); a single row runs the 1-row block, which has 4× less to do.
      ${loop('ib4', '$ib', '(local.get $m)', '(i32.const 4)', `
        (if (i32.eq (i32.sub (local.get $m) (local.get $ib)) (i32.const 1))
          (then ${block(1, 'k1')})
          (else ${block(4, 'k4')}))
        ${store}
        (local.set $pa (i32.add (local.get $pa) (local.get $panelBytes)))`)}`)}
  )
${row32}
  ;; z[r, j] += bias[j] (when bias ≠ 0), then y = act(z) with act 0 = linear, 1 = relu,
  ;; 2 = leaky_relu (x > 0 ? x : alpha·x): a dense layer's epilogue in one pass over its output.
  ;; The comparisons are written as JavaScript's (NaN and −0 go to the else branch).
  (func (export "bias_act") (param $z i32) (param $y i32) (param $bias i32) (param $rows i32) (param $cols i32)
      (param $act i32) (param $alpha f32)
    (local $r i32) (local $j i32) (local $cols4 i32) (local $pz i32) (local $py i32) (local $v v128) (local $s f32) (local $A v128)
    (local.set $A (f32x4.splat (local.get $alpha)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $pz (local.get $z))
    (local.set $py (local.get $y))
    ${loop('bar', '$r', '(local.get $rows)', '(i32.const 1)', `
      (local.set $j (i32.const 0))
      ${loop('bav', '$j', '(local.get $cols4)', '(i32.const 4)', `
        (local.set $v (v128.load (i32.add (local.get $pz) (i32.shl (local.get $j) (i32.const 2)))))
        (if (local.get $bias) (then
          (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
          (v128.store (i32.add (local.get $pz) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))))
        (v128.store (i32.add (local.get $py) (i32.shl (local.get $j) (i32.const 2))) ${actV('$v')})`)}
      ${loop('bas', '$j', '(local.get $cols)', '(i32.const 1)', `
        (local.set $s (f32.load (i32.add (local.get $pz) (i32.shl (local.get $j) (i32.const 2)))))
        (if (local.get $bias) (then
          (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
          (f32.store (i32.add (local.get $pz) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))))
        (f32.store (i32.add (local.get $py) (i32.shl (local.get $j) (i32.const 2))) ${actS('$s')})`)}
      (local.set $pz (i32.add (local.get $pz) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $py (i32.add (local.get $py) (i32.shl (local.get $cols) (i32.const 2))))`)}
  )
  ;; The backward of bias_act: dz = act′(z)·dy (act as there; for linear dz = dy, and dz may be
  ;; dy itself), then db[j] = Σ_r dz[r, j] in row order (when db ≠ 0).
  (func (export "act_grad_bias") (param $z i32) (param $dy i32) (param $dz i32) (param $db i32) (param $rows i32) (param $cols i32)
      (param $act i32) (param $alpha f32)
    (local $r i32) (local $j i32) (local $cols4 i32) (local $o i32) (local $g v128) (local $s f32) (local $A v128)
    (local.set $A (f32x4.splat (local.get $alpha)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (if (local.get $db) (then
      (local.set $j (i32.const 0))
      ${loop('dbz', '$j', '(i32.shl (local.get $cols) (i32.const 2))', '(i32.const 4)', `
        (f32.store (i32.add (local.get $db) (local.get $j)) (f32.const 0))`)}))
    (local.set $o (i32.const 0))
    ${loop('agr', '$r', '(local.get $rows)', '(i32.const 1)', `
      (local.set $j (i32.const 0))
      ${loop('agv', '$j', '(i32.shl (local.get $cols4) (i32.const 2))', '(i32.const 16)', `
        (local.set $g ${gradV('(v128.load (i32.add (local.get $z) (i32.add (local.get $o) (local.get $j))))', '(v128.load (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $j))))')})
        (v128.store (i32.add (local.get $dz) (i32.add (local.get $o) (local.get $j))) (local.get $g))
        (if (local.get $db) (then
          (v128.store (i32.add (local.get $db) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $db) (local.get $j))) (local.get $g)))))`)}
      ${loop('ags', '$j', '(i32.shl (local.get $cols) (i32.const 2))', '(i32.const 4)', `
        (local.set $s ${gradS('(f32.load (i32.add (local.get $z) (i32.add (local.get $o) (local.get $j))))', '(f32.load (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $j))))')})
        (f32.store (i32.add (local.get $dz) (i32.add (local.get $o) (local.get $j))) (local.get $s))
        (if (local.get $db) (then
          (f32.store (i32.add (local.get $db) (local.get $j))
            (f32.add (f32.load (i32.add (local.get $db) (local.get $j))) (local.get $s)))))`)}
      (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cols) (i32.const 2))))`)}
  )
  ;; Adam (Keras 3's rule) over n elements: m += (g − m)·b1c; v += (g² − v)·b2c;
  ;; p −= (m·alpha) / (√v + eps). Lane and tail use the same f32 operations, so an element's
  ;; result does not depend on where a chunk boundary falls. Moments below 1e-30 are
  ;; flushed to zero (TensorFlow runs in flush-to-zero mode for the same reason): a weight
  ;; whose gradient is always 0 (a blank MNIST pixel) would otherwise decay its momentum into
  ;; subnormal floats after ~800 steps, and subnormal arithmetic is ~10× slower on x86. The
  ;; margin above the smallest normal (1.2e-38) keeps the intermediates (m·0.1, m·lr) normal
  ;; too; the update such a moment would make is below 1e-25.
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
      (param $alpha f32) (param $b1c f32) (param $b2c f32) (param $eps f32)
    (local $i i32) (local $end i32) (local $end4 i32)
    (local $A v128) (local $B1 v128) (local $B2 v128) (local $E v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $TINY v128)
    (local.set $TINY (f32x4.splat (f32.const 1e-30)))
    (local.set $A (f32x4.splat (local.get $alpha)))
    (local.set $B1 (f32x4.splat (local.get $b1c)))
    (local.set $B2 (f32x4.splat (local.get $b2c)))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    ${loop('av', '$i', '(local.get $end4)', '(i32.const 16)', `
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $mv (v128.load (i32.add (local.get $m) (local.get $i))))
      (local.set $vv (v128.load (i32.add (local.get $v) (local.get $i))))
      (local.set $mv (f32x4.add (local.get $mv) (f32x4.mul (f32x4.sub (local.get $gv) (local.get $mv)) (local.get $B1))))
      (local.set $vv (f32x4.add (local.get $vv) (f32x4.mul (f32x4.sub (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $vv)) (local.get $B2))))
      (local.set $mv (v128.and (local.get $mv) (f32x4.ge (f32x4.abs (local.get $mv)) (local.get $TINY))))
      (local.set $vv (v128.and (local.get $vv) (f32x4.ge (f32x4.abs (local.get $vv)) (local.get $TINY))))
      (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mv))
      (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vv))
      (v128.store (i32.add (local.get $p) (local.get $i))
        (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i)))
          (f32x4.div (f32x4.mul (local.get $mv) (local.get $A)) (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $E)))))`)}
    ${loop('as', '$i', '(local.get $end)', '(i32.const 4)', `
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $ms (f32.load (i32.add (local.get $m) (local.get $i))))
      (local.set $vs (f32.load (i32.add (local.get $v) (local.get $i))))
      (local.set $ms (f32.add (local.get $ms) (f32.mul (f32.sub (local.get $gs) (local.get $ms)) (local.get $b1c))))
      (local.set $vs (f32.add (local.get $vs) (f32.mul (f32.sub (f32.mul (local.get $gs) (local.get $gs)) (local.get $vs)) (local.get $b2c))))
      (local.set $ms (select (local.get $ms) (f32.const 0) (f32.ge (f32.abs (local.get $ms)) (f32.const 1e-30))))
      (local.set $vs (select (local.get $vs) (f32.const 0) (f32.ge (f32.abs (local.get $vs)) (f32.const 1e-30))))
      (f32.store (i32.add (local.get $m) (local.get $i)) (local.get $ms))
      (f32.store (i32.add (local.get $v) (local.get $i)) (local.get $vs))
      (f32.store (i32.add (local.get $p) (local.get $i))
        (f32.sub (f32.load (i32.add (local.get $p) (local.get $i)))
          (f32.div (f32.mul (local.get $ms) (local.get $alpha)) (f32.add (f32.sqrt (local.get $vs)) (local.get $eps)))))`)}
  )
;; out[j] = Σ_r x[r, j] for the columns j in [from, to) of a [rows, cols] array, each column
  ;; in row order with f32 adds (a bias gradient, or one worker's share of it): lanes and tail
  ;; do the same adds, so a share gives the bits of the whole.
  (func (export "col_sums") (param $x i32) (param $rows i32) (param $cols i32) (param $from i32) (param $to i32) (param $out i32)
    (local $r i32) (local $j i32) (local $end i32) (local $end4 i32) (local $row i32)
    (local.set $end (i32.shl (local.get $to) (i32.const 2)))
    (local.set $end4 (i32.add (i32.shl (local.get $from) (i32.const 2))
      (i32.and (i32.shl (i32.sub (local.get $to) (local.get $from)) (i32.const 2)) (i32.const -16))))
    (local.set $j (i32.shl (local.get $from) (i32.const 2)))
    ${loop('csz', '$j', '(local.get $end)', '(i32.const 4)', `
      (f32.store (i32.add (local.get $out) (local.get $j)) (f32.const 0))`)}
    (local.set $row (local.get $x))
    ${loop('csr', '$r', '(local.get $rows)', '(i32.const 1)', `
      (local.set $j (i32.shl (local.get $from) (i32.const 2)))
      ${loop('csv', '$j', '(local.get $end4)', '(i32.const 16)', `
        (v128.store (i32.add (local.get $out) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j))) (v128.load (i32.add (local.get $row) (local.get $j)))))`)}
      ${loop('css', '$j', '(local.get $end)', '(i32.const 4)', `
        (f32.store (i32.add (local.get $out) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $out) (local.get $j))) (f32.load (i32.add (local.get $row) (local.get $j)))))`)}
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cols) (i32.const 2))))`)}
  )
${convWat()}
${batchNormWat()}
)`;
}
