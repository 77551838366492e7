/**
 * Generates the WebAssembly text of Loom's SIMD kernels. A generator (rather than a hand-written
 * .wat file) because the register-blocked inner loop is the same few lines repeated per
 * accumulator, and because the relaxed-SIMD build differs only in the multiply-add.
 *
 * gemm: C[m,n] (+)= op(A)[m,k] · B[k,n], B row-major. A(i, p) is read at a + i·rsA + p·psA
 * (bytes), so a transposed A costs nothing; a transposed B is transposed into scratch first
 * (by the caller, with `transpose`). Every element of C is a sum over p in ascending order with
 * the same f32 multiply-add (or fused madd), in the 4×8 blocks and in the tails alike: a
 * sample's result does not depend on how many rows share its batch.
 */
export function kernelsWat(options: { relaxed: boolean }): string {
  const { relaxed } = options;
  // acc += x·y, lane-wise: one rounding with relaxed madd (FMA where the CPU has it), two without.
  const madd = (acc: string, x: string, y: string): string =>
    relaxed
      ? `(local.set ${acc} (f32x4.relaxed_madd (local.get ${x}) (local.get ${y}) (local.get ${acc})))`
      : `(local.set ${acc} (f32x4.add (local.get ${acc}) (f32x4.mul (local.get ${x}) (local.get ${y}))))`;
  const maddExpr = (acc: string, x: string, y: string): string =>
    relaxed ? `(f32x4.relaxed_madd ${x} ${y} ${acc})` : `(f32x4.add ${acc} (f32x4.mul ${x} ${y}))`;
  const accs = Array.from({ length: 8 }, (_, i) => `$c${i}`);
  const zero = '(v128.const i32x4 0 0 0 0)';
  const loop = (label: string, counter: string, limit: string, step: string, body: string): string => `
    (block $${label}_end (loop $${label}
      (br_if $${label}_end (i32.ge_u (local.get ${counter}) ${limit}))
      ${body}
      (local.set ${counter} (i32.add (local.get ${counter}) ${step}))
      (br $${label})))`;
  const rowPtr = (r: number) => `$pa${r}`;
  // The 4-row panel of A for the current row block, packed k-major (panel[p·4 + r] = A(i+r, p)):
  // the inner loop then reads all four rows with one pointer and load-and-splat instructions.
  const packPanel = `
      (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rsA))))
      (local.set $pa1 (i32.add (local.get $pa0) (local.get $rsA)))
      (local.set $pa2 (i32.add (local.get $pa1) (local.get $rsA)))
      (local.set $pa3 (i32.add (local.get $pa2) (local.get $rsA)))
      (local.set $pp (local.get $panel))
      (local.set $p (i32.const 0))
      ${loop('pk', '$p', '(local.get $k)', '(i32.const 1)', `
        (f32.store offset=0 (local.get $pp) (f32.load (local.get $pa0)))
        (f32.store offset=4 (local.get $pp) (f32.load (local.get $pa1)))
        (f32.store offset=8 (local.get $pp) (f32.load (local.get $pa2)))
        (f32.store offset=12 (local.get $pp) (f32.load (local.get $pa3)))
        (local.set $pa0 (i32.add (local.get $pa0) (local.get $psA)))
        (local.set $pa1 (i32.add (local.get $pa1) (local.get $psA)))
        (local.set $pa2 (i32.add (local.get $pa2) (local.get $psA)))
        (local.set $pa3 (i32.add (local.get $pa3) (local.get $psA)))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))`)}`;
  const block4x8 = `
      ${accs.map((c) => `(local.set ${c} ${zero})`).join(' ')}
      (local.set $pp (local.get $panel))
      (local.set $ppEnd (i32.add (local.get $panel) (i32.shl (local.get $k) (i32.const 4))))
      (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
      (block $p4_end (loop $p4
        (br_if $p4_end (i32.ge_u (local.get $pp) (local.get $ppEnd)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        ${[0, 1, 2, 3].map((r) => `
        (local.set $x (v128.load32_splat offset=${4 * r} (local.get $pp)))
        ${madd(`$c${2 * r}`, '$x', '$b0')} ${madd(`$c${2 * r + 1}`, '$x', '$b1')}`).join('')}
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (local.get $rsB)))
        (br $p4)))
      (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
      ${[0, 1, 2, 3].map((r) => `
      (if (local.get $acc) (then
        (local.set $c${2 * r} (f32x4.add (v128.load (local.get $pc)) (local.get $c${2 * r})))
        (local.set $c${2 * r + 1} (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c${2 * r + 1})))))
      (v128.store (local.get $pc) (local.get $c${2 * r}))
      (v128.store offset=16 (local.get $pc) (local.get $c${2 * r + 1}))
      (local.set $pc (i32.add (local.get $pc) (local.get $rsC)))`).join('')}`;
  // One row, eight columns: the rows left over below a multiple of 4.
  const block1x8 = `
      (local.set $c0 ${zero}) (local.set $c1 ${zero})
      (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rsA))))
      (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $p (i32.const 0))
      ${loop('p1', '$p', '(local.get $k)', '(i32.const 1)', `
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $x (f32x4.splat (f32.load (local.get $pa0))))
        ${madd('$c0', '$x', '$b0')} ${madd('$c1', '$x', '$b1')}
        (local.set $pa0 (i32.add (local.get $pa0) (local.get $psA)))
        (local.set $pb (i32.add (local.get $pb) (local.get $rsB)))`)}
      (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
      (if (local.get $acc) (then
        (local.set $c0 (f32x4.add (v128.load (local.get $pc)) (local.get $c0)))
        (local.set $c1 (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c1)))))
      (v128.store (local.get $pc) (local.get $c0))
      (v128.store offset=16 (local.get $pc) (local.get $c1))`;
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ;; C(i, j) alone, with the same lane arithmetic as the blocks (lane 0 of a splat).
  (func $dot (param $a i32) (param $b i32) (param $k i32) (param $psA i32) (param $rsB i32) (result f32)
    (local $s v128) (local $p i32)
    ${loop('d', '$p', '(local.get $k)', '(i32.const 1)', `
      (local.set $s ${maddExpr('(local.get $s)', '(f32x4.splat (f32.load (local.get $a)))', '(f32x4.splat (f32.load (local.get $b)))')})
      (local.set $a (i32.add (local.get $a) (local.get $psA)))
      (local.set $b (i32.add (local.get $b) (local.get $rsB)))`)}
    (f32x4.extract_lane 0 (local.get $s)))
  (func (export "gemm") (param $m i32) (param $n i32) (param $k i32) (param $a i32) (param $rsA i32) (param $psA i32)
      (param $b i32) (param $c i32) (param $acc i32) (param $panel i32)
    (local $i i32) (local $j i32) (local $p i32) (local $rsB i32) (local $rsC i32) (local $m4 i32) (local $n8 i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $pc i32) (local $pp i32) (local $ppEnd i32)
    (local $b0 v128) (local $b1 v128) (local $x v128) (local $s f32)
    ${accs.map((c) => `(local ${c} v128)`).join(' ')}
    (local.set $rsB (i32.shl (local.get $n) (i32.const 2)))
    (local.set $rsC (local.get $rsB))
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    ${loop('i4', '$i', '(local.get $m4)', '(i32.const 4)', `
      ${packPanel}
      (local.set $j (i32.const 0))
      ${loop('j4', '$j', '(local.get $n8)', '(i32.const 8)', block4x8)}`)}
    (local.set $i (local.get $m4))
    ${loop('i1', '$i', '(local.get $m)', '(i32.const 1)', `
      (local.set $j (i32.const 0))
      ${loop('j1', '$j', '(local.get $n8)', '(i32.const 8)', block1x8)}`)}
    ;; columns beyond the last multiple of 8, every row
    (local.set $i (i32.const 0))
    ${loop('it', '$i', '(local.get $m)', '(i32.const 1)', `
      (local.set $j (local.get $n8))
      ${loop('jt', '$j', '(local.get $n)', '(i32.const 1)', `
        (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
        (local.set $s (call $dot (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rsA)))
          (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $psA) (local.get $rsB)))
        (if (local.get $acc) (then (local.set $s (f32.add (f32.load (local.get $pc)) (local.get $s)))))
        (f32.store (local.get $pc) (local.get $s))`)}`)}
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
  ;; dst[i] += src[i] for n floats: the all-reduce's sum of gradient rows (f32 adds, the same
  ;; bits as JavaScript's, which adds two floats exactly in float64 and rounds once).
  (func (export "add_into") (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32) (local $end i32) (local $end4 i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    ${loop('addv', '$i', '(local.get $end4)', '(i32.const 16)', `
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $i))) (v128.load (i32.add (local.get $src) (local.get $i)))))`)}
    ${loop('adds', '$i', '(local.get $end)', '(i32.const 4)', `
      (f32.store (i32.add (local.get $dst) (local.get $i))
        (f32.add (f32.load (i32.add (local.get $dst) (local.get $i))) (f32.load (i32.add (local.get $src) (local.get $i)))))`)}
  )
  ;; dst[cols×rows] = transpose(src[rows×cols]), in 16×16 tiles so reads and writes both stay in cache.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $rb i32) (local $qb i32) (local $r i32) (local $q i32) (local $rEnd i32) (local $qEnd i32)
    ${loop('trb', '$rb', '(local.get $rows)', '(i32.const 16)', `
      (local.set $rEnd (select (i32.add (local.get $rb) (i32.const 16)) (local.get $rows)
        (i32.lt_u (i32.add (local.get $rb) (i32.const 16)) (local.get $rows))))
      (local.set $qb (i32.const 0))
      ${loop('tqb', '$qb', '(local.get $cols)', '(i32.const 16)', `
        (local.set $qEnd (select (i32.add (local.get $qb) (i32.const 16)) (local.get $cols)
          (i32.lt_u (i32.add (local.get $qb) (i32.const 16)) (local.get $cols))))
        (local.set $r (local.get $rb))
        ${loop('tr', '$r', '(local.get $rEnd)', '(i32.const 1)', `
          (local.set $q (local.get $qb))
          ${loop('tq', '$q', '(local.get $qEnd)', '(i32.const 1)', `
            (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $q) (local.get $rows)) (local.get $r)) (i32.const 2)))
              (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $q)) (i32.const 2)))))`)}`)}`)}`)}
  )
)`;
}
