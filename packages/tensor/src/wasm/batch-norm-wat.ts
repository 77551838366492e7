/**
 * The WebAssembly text of the batch-normalization kernels: bn_row_stats, bn_normalize,
 * bn_grad_stats and bn_input_grad, the SIMD versions of the JavaScript references in
 * ../batch-norm.ts, which define their semantics. Operands are byte addresses; each row is
 * `positions × channels` floats, channels last; `consts` points at the per-channel float64
 * constants the hooks (batch-norm-hooks.ts) copied there, C values per array, one array after
 * the other.
 *
 * - Per row, 4 channels per v128, then a scalar tail for the last C mod 4: the channels are
 *   innermost, so a position's 4 channels are one (possibly unaligned) load. Per block of
 *   channels the positions are the inner loop (stride C·4 bytes), so the sums and the
 *   per-channel constants stay in registers; a row (21 KB at 13×13×32) stays in L1 between
 *   blocks.
 * - Everything is computed in float64 (f64x2, two channels per vector) with the reference's
 *   operations in the reference's order, each sum from zero over the positions in order, and
 *   rounded to float32 only where the reference stores into a Float32Array: the results have
 *   the reference's bits, not just its accuracy. (No fused multiply-add, in the relaxed build
 *   either: wasm's f64x2.mul and add round separately, as JavaScript's * and + do.)
 */
import { loop } from './wat.js';

const get = (n: string) => `(local.get $${n})`;
const set = (n: string, v: string) => `(local.set $${n} ${v})`;
const k = (v: number) => `(i32.const ${v})`;
const add = (a: string, b: string) => `(i32.add ${a} ${b})`;
const mul = (a: string, b: string) => `(i32.mul ${a} ${b})`;
const ZERO = '(v128.const i32x4 0 0 0 0)';
const fadd = (a: string, b: string) => `(f64x2.add ${a} ${b})`;
const fsub = (a: string, b: string) => `(f64x2.sub ${a} ${b})`;
const fmul = (a: string, b: string) => `(f64x2.mul ${a} ${b})`;
/** Float32 lanes 0 and 1 (`lo`) or 2 and 3 (`hi`) of a local as an f64x2. */
const lo = (n: string) => `(f64x2.promote_low_f32x4 ${get(n)})`;
const hi = (n: string) => `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get(n)} ${get(n)}))`;
/** Two f64x2 vectors rounded to one f32x4: [lo0, lo1, hi0, hi1]. */
const demote2 = (l: string, h: string) =>
  `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${l}) (f32x4.demote_f64x2_zero ${h}))`;
/** The scalar float32 at a byte address, as f64. */
const load1 = (addr: string) => `(f64.promote_f32 (f32.load ${addr}))`;
const store1 = (addr: string, v: string) => `(f32.store ${addr} (f32.demote_f64 ${v}))`;
/** Per-channel constant array `which` (0, 1, …) at the current channel: C float64 each, from $consts. */
const constAddr = (which: number) => add(get('consts'), add(mul(get('cB'), k(2 * which)), `(i32.shl ${get('chB')} ${k(1)})`));

const LOCALS = `${['r', 'rb', 'ob', 'q', 'qEnd', 'chB', 'cB', 'rowBytes', 'c4B'].map((n) => `(local $${n} i32)`).join(' ')}
    (local $v v128) (local $w v128) (local $h v128) (local $a0 v128) (local $a1 v128) (local $b0 v128) (local $b1 v128)
    (local $e0 v128) (local $e1 v128) (local $f0 v128) (local $f1 v128) (local $d0 v128) (local $d1 v128)
    (local $s f64) (local $t f64) (local $d f64) (local $m f64) (local $i f64) (local $g f64) (local $be f64) (local $pf f64)`;

/**
 * Every row, then every block of 4 channels (`vector`), then every leftover channel (`scalar`).
 * In the bodies, $rb is the row's byte offset in the row-shaped arrays, $ob its offset in the
 * 2·C-wide statistics, $chB the channel's byte offset within a position, and `positions(…)`
 * loops $q over the byte offsets of the channel's values in the row.
 */
const rowBlocks = (prefix: string, vector: string, scalar: string) => `
    ${set('cB', `(i32.shl ${get('c')} ${k(2)})`)}
    ${set('rowBytes', mul(get('positions'), get('cB')))}
    ${set('c4B', `(i32.and ${get('cB')} ${k(-16)})`)}
    ${set('pf', `(f64.convert_i32_u ${get('positions')})`)}
    ${set('rb', k(0))}
    ${set('ob', k(0))}
    ${set('r', k(0))}
    ${loop(`${prefix}r`, '$r', get('rows'), k(1), `
      ${set('qEnd', add(get('rb'), get('rowBytes')))}
      ${set('chB', k(0))}
      ${loop(`${prefix}v`, '$chB', get('c4B'), k(16), vector)}
      ${loop(`${prefix}s`, '$chB', get('cB'), k(4), scalar)}
      ${set('rb', get('qEnd'))}
      ${set('ob', add(get('ob'), `(i32.shl ${get('cB')} ${k(1)})`))}`)}`;

const positions = (label: string, body: string) => `
        ${set('q', add(get('rb'), get('chB')))}
        ${loop(label, '$q', get('qEnd'), get('cB'), body)}`;

const rowStats = `
  ;; out (2·C floats per row) = per channel the row's mean, then its M2 = Σ (x − mean)².
  (func (export "bn_row_stats") (param $x i32) (param $rows i32) (param $positions i32) (param $c i32) (param $out i32)
    ${LOCALS}
    ${rowBlocks('rs', `
        ${set('a0', ZERO)} ${set('a1', ZERO)}
        ${positions('rsvm', `
          ${set('v', `(v128.load ${add(get('x'), get('q'))})`)}
          ${set('a0', fadd(get('a0'), lo('v')))}
          ${set('a1', fadd(get('a1'), hi('v')))}`)}
        ${set('e0', `(f64x2.div ${get('a0')} (f64x2.splat ${get('pf')}))`)}
        ${set('e1', `(f64x2.div ${get('a1')} (f64x2.splat ${get('pf')}))`)}
        ${set('b0', ZERO)} ${set('b1', ZERO)}
        ${positions('rsvd', `
          ${set('v', `(v128.load ${add(get('x'), get('q'))})`)}
          ${set('d0', fsub(lo('v'), get('e0')))}
          ${set('d1', fsub(hi('v'), get('e1')))}
          ${set('b0', fadd(get('b0'), fmul(get('d0'), get('d0'))))}
          ${set('b1', fadd(get('b1'), fmul(get('d1'), get('d1'))))}`)}
        (v128.store ${add(get('out'), add(get('ob'), get('chB')))} ${demote2(get('e0'), get('e1'))})
        (v128.store ${add(get('out'), add(add(get('ob'), get('cB')), get('chB')))} ${demote2(get('b0'), get('b1'))})`, `
        ${set('s', '(f64.const 0)')}
        ${positions('rssm', set('s', `(f64.add ${get('s')} ${load1(add(get('x'), get('q')))})`))}
        ${set('m', `(f64.div ${get('s')} ${get('pf')})`)}
        ${set('t', '(f64.const 0)')}
        ${positions('rssd', `
          ${set('d', `(f64.sub ${load1(add(get('x'), get('q')))} ${get('m')})`)}
          ${set('t', `(f64.add ${get('t')} (f64.mul ${get('d')} ${get('d')}))`)}`)}
        ${store1(add(get('out'), add(get('ob'), get('chB'))), get('m'))}
        ${store1(add(get('out'), add(add(get('ob'), get('cB')), get('chB'))), get('t'))}`)}
  )`;

const normalize = `
  ;; xhat = (x − mean)·invStd, y = γ·xhat + β, from the stored xhat; consts: mean, invStd, γ, β.
  (func (export "bn_normalize") (param $x i32) (param $rows i32) (param $positions i32) (param $c i32) (param $consts i32)
    (param $xhat i32) (param $y i32)
    ${LOCALS}
    ${rowBlocks('nz', `
        ${set('a0', `(v128.load ${constAddr(0)})`)} ${set('a1', `(v128.load offset=16 ${constAddr(0)})`)}
        ${set('b0', `(v128.load ${constAddr(1)})`)} ${set('b1', `(v128.load offset=16 ${constAddr(1)})`)}
        ${set('e0', `(v128.load ${constAddr(2)})`)} ${set('e1', `(v128.load offset=16 ${constAddr(2)})`)}
        ${set('f0', `(v128.load ${constAddr(3)})`)} ${set('f1', `(v128.load offset=16 ${constAddr(3)})`)}
        ${positions('nzv', `
          ${set('v', `(v128.load ${add(get('x'), get('q'))})`)}
          ${set('h', demote2(fmul(fsub(lo('v'), get('a0')), get('b0')), fmul(fsub(hi('v'), get('a1')), get('b1'))))}
          (v128.store ${add(get('xhat'), get('q'))} ${get('h')})
          (v128.store ${add(get('y'), get('q'))} ${demote2(fadd(fmul(get('e0'), lo('h')), get('f0')), fadd(fmul(get('e1'), hi('h')), get('f1')))})`)}`, `
        ${set('m', `(f64.load ${constAddr(0)})`)}
        ${set('i', `(f64.load ${constAddr(1)})`)}
        ${set('g', `(f64.load ${constAddr(2)})`)}
        ${set('be', `(f64.load ${constAddr(3)})`)}
        ${positions('nzs', `
          ${set('d', `(f64.promote_f32 (f32.demote_f64 (f64.mul (f64.sub ${load1(add(get('x'), get('q')))} ${get('m')}) ${get('i')})))`)}
          ${store1(add(get('xhat'), get('q')), get('d'))}
          ${store1(add(get('y'), get('q')), `(f64.add (f64.mul ${get('g')} ${get('d')}) ${get('be')})`)}`)}`)}
  )`;

const gradStats = `
  ;; out (2·C floats per row) = per channel the row's Σ dy, then its Σ dy·xhat.
  (func (export "bn_grad_stats") (param $dy i32) (param $xhat i32) (param $rows i32) (param $positions i32) (param $c i32) (param $out i32)
    ${LOCALS}
    ${rowBlocks('gs', `
        ${set('a0', ZERO)} ${set('a1', ZERO)} ${set('b0', ZERO)} ${set('b1', ZERO)}
        ${positions('gsv', `
          ${set('v', `(v128.load ${add(get('dy'), get('q'))})`)}
          ${set('w', `(v128.load ${add(get('xhat'), get('q'))})`)}
          ${set('d0', lo('v'))} ${set('d1', hi('v'))}
          ${set('a0', fadd(get('a0'), get('d0')))}
          ${set('a1', fadd(get('a1'), get('d1')))}
          ${set('b0', fadd(get('b0'), fmul(get('d0'), lo('w'))))}
          ${set('b1', fadd(get('b1'), fmul(get('d1'), hi('w'))))}`)}
        (v128.store ${add(get('out'), add(get('ob'), get('chB')))} ${demote2(get('a0'), get('a1'))})
        (v128.store ${add(get('out'), add(add(get('ob'), get('cB')), get('chB')))} ${demote2(get('b0'), get('b1'))})`, `
        ${set('s', '(f64.const 0)')} ${set('t', '(f64.const 0)')}
        ${positions('gss', `
          ${set('d', load1(add(get('dy'), get('q'))))}
          ${set('s', `(f64.add ${get('s')} ${get('d')})`)}
          ${set('t', `(f64.add ${get('t')} (f64.mul ${get('d')} ${load1(add(get('xhat'), get('q')))}))`)}`)}
        ${store1(add(get('out'), add(get('ob'), get('chB'))), get('s'))}
        ${store1(add(get('out'), add(add(get('ob'), get('cB')), get('chB'))), get('t'))}`)}
  )`;

const inputGrad = `
  ;; dx = k·((dy − S1/N) − xhat·S2/N); consts: k = γ·invStd, S1/N, S2/N.
  (func (export "bn_input_grad") (param $dy i32) (param $xhat i32) (param $rows i32) (param $positions i32) (param $c i32)
    (param $consts i32) (param $dx i32)
    ${LOCALS}
    ${rowBlocks('ig', `
        ${set('a0', `(v128.load ${constAddr(0)})`)} ${set('a1', `(v128.load offset=16 ${constAddr(0)})`)}
        ${set('b0', `(v128.load ${constAddr(1)})`)} ${set('b1', `(v128.load offset=16 ${constAddr(1)})`)}
        ${set('e0', `(v128.load ${constAddr(2)})`)} ${set('e1', `(v128.load offset=16 ${constAddr(2)})`)}
        ${positions('igv', `
          ${set('v', `(v128.load ${add(get('dy'), get('q'))})`)}
          ${set('w', `(v128.load ${add(get('xhat'), get('q'))})`)}
          (v128.store ${add(get('dx'), get('q'))} ${demote2(
            fmul(get('a0'), fsub(fsub(lo('v'), get('b0')), fmul(lo('w'), get('e0')))),
            fmul(get('a1'), fsub(fsub(hi('v'), get('b1')), fmul(hi('w'), get('e1')))))})`)}`, `
        ${set('g', `(f64.load ${constAddr(0)})`)}
        ${set('m', `(f64.load ${constAddr(1)})`)}
        ${set('i', `(f64.load ${constAddr(2)})`)}
        ${positions('igs', `
          ${store1(add(get('dx'), get('q')), `(f64.mul ${get('g')} (f64.sub (f64.sub ${load1(add(get('dy'), get('q')))} ${get('m')}) (f64.mul ${load1(add(get('xhat'), get('q')))} ${get('i')})))`)}`)}`)}
  )`;

/** The four functions, to be placed inside the kernels' module (which imports the memory). */
export function batchNormWat(): string {
  return [rowStats, normalize, gradStats, inputGrad].join('\n');
}
