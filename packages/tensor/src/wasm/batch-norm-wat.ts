/**
 * The WebAssembly text of the batch-normalization kernels: bn_row_stats, bn_normalize,
 * bn_grad_stats and bn_input_grad, the SIMD versions of the JavaScript references in
 * ../batch-norm.ts, which define their semantics. Operands are byte addresses; each row is
 * `positions × channels` floats, channels last; `consts` points at the per-channel float64
 * constants the hooks (batch-norm-hooks.ts) copied there, C values per array, one array after
 * the other.
 *
 * - 4 channels per v128, then a scalar tail for the last C mod 4: the channels are innermost,
 *   so a position's 4 channels are one (possibly unaligned) load.
 * - The sums (row and gradient statistics) go per row and per block of 8 channels (then 4),
 *   the positions inner (stride C·4 bytes), so the sums stay in registers and a row (21 KB at
 *   13×13×32) stays in L1 between blocks. The element-wise kernels (normalize, dx) walk the
 *   values in memory order and re-read the channel's constants from the scratch (in L1): twice
 *   as fast for dx as walking per block (the README has the figures).
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

const LOCALS = `${['r', 'rb', 'ob', 'o', 'q', 'qEnd', 'chB', 'cB', 'rowBytes', 'c4B', 'c8B'].map((n) => `(local $${n} i32)`).join(' ')}
    ${['v', 'w', 'h', 'v0', 'v1', 'w0', 'w1', ...[0, 1, 2, 3].flatMap((i) => [`a${i}`, `b${i}`, `e${i}`, `d${i}`])].map((n) => `(local $${n} v128)`).join(' ')}
    (local $s f64) (local $t f64) (local $d f64) (local $m f64) (local $pf f64)`;

/**
 * The float64 halves of a block of `g` vectors (4·g channels): slot i is lanes 2(i mod 2) and
 * 2(i mod 2) + 1 of vector ⌊i/2⌋ of the loaded locals `$<name>0`, `$<name>1`.
 */
const slots = (g: 1 | 2) => Array.from({ length: 2 * g }, (_, i) => i);
const half = (name: string, i: number) => (i % 2 === 0 ? lo : hi)(`${name}${i >> 1}`);
/** Loads the block's `g` vectors of `array` at the position $q into `$<name>0..`. */
const loadBlock = (g: 1 | 2, name: string, array: string) =>
  Array.from({ length: g }, (_, j) => set(`${name}${j}`, `(v128.load offset=${16 * j} ${add(get(array), get('q'))})`)).join(' ');
/** Stores the block's f64x2 slots `$<name>0..` at `addr`, rounded to float32. */
const storeBlock = (g: 1 | 2, name: string, addr: string) =>
  Array.from({ length: g }, (_, j) => `(v128.store offset=${16 * j} ${addr} ${demote2(get(`${name}${2 * j}`), get(`${name}${2 * j + 1}`))})`).join(' ');

/**
 * Every row, then every block of 8 channels, then at most one of 4 (`vector(g)`, g vectors per
 * position), then every leftover channel (`scalar`). Eight channels per block is four
 * independent float64 sums per position, not two: the sums are chains of dependent adds, and
 * more of them in flight hide the add's latency, in the same order per channel. In the bodies,
 * $rb is the row's byte offset in the row-shaped arrays, $ob its offset in the 2·C-wide
 * statistics, $chB the channel's byte offset within a position, and `positions(…)` loops $q
 * over the byte offsets of the channel's values in the row.
 */
const rowBlocks = (prefix: string, vector: (g: 1 | 2) => string, scalar: string) => `
    ${set('cB', `(i32.shl ${get('c')} ${k(2)})`)}
    ${set('rowBytes', mul(get('positions'), get('cB')))}
    ${set('c4B', `(i32.and ${get('cB')} ${k(-16)})`)}
    ${set('c8B', `(i32.and ${get('cB')} ${k(-32)})`)}
    ${set('pf', `(f64.convert_i32_u ${get('positions')})`)}
    ${set('rb', k(0))}
    ${set('ob', k(0))}
    ${set('r', k(0))}
    ${loop(`${prefix}r`, '$r', get('rows'), k(1), `
      ${set('qEnd', add(get('rb'), get('rowBytes')))}
      ${set('chB', k(0))}
      ${loop(`${prefix}8`, '$chB', get('c8B'), k(32), vector(2))}
      ${loop(`${prefix}4`, '$chB', get('c4B'), k(16), vector(1))}
      ${loop(`${prefix}s`, '$chB', get('cB'), k(4), scalar)}
      ${set('rb', get('qEnd'))}
      ${set('ob', add(get('ob'), `(i32.shl ${get('cB')} ${k(1)})`))}`)}`;

const positions = (label: string, body: string) => `
        ${set('q', add(get('rb'), get('chB')))}
        ${loop(label, '$q', get('qEnd'), get('cB'), body)}`;
const meanAddr = add(get('out'), add(get('ob'), get('chB')));
const secondAddr = add(get('out'), add(add(get('ob'), get('cB')), get('chB')));

const rowStats = `
  ;; out (2·C floats per row) = per channel the row's mean, then its M2 = Σ (x − mean)².
  (func (export "bn_row_stats") (param $x i32) (param $rows i32) (param $positions i32) (param $c i32) (param $out i32)
    ${LOCALS}
    ${rowBlocks('rs', (g) => `
        ${slots(g).map((i) => set(`a${i}`, ZERO)).join(' ')}
        ${positions(`rsm${g}`, `
          ${loadBlock(g, 'v', 'x')}
          ${slots(g).map((i) => set(`a${i}`, fadd(get(`a${i}`), half('v', i)))).join('\n          ')}`)}
        ${slots(g).map((i) => set(`e${i}`, `(f64x2.div ${get(`a${i}`)} (f64x2.splat ${get('pf')}))`)).join(' ')}
        ${slots(g).map((i) => set(`b${i}`, ZERO)).join(' ')}
        ${positions(`rsd${g}`, `
          ${loadBlock(g, 'v', 'x')}
          ${slots(g).map((i) => `${set(`d${i}`, fsub(half('v', i), get(`e${i}`)))} ${set(`b${i}`, fadd(get(`b${i}`), fmul(get(`d${i}`), get(`d${i}`))))}`).join('\n          ')}`)}
        ${storeBlock(g, 'e', meanAddr)}
        ${storeBlock(g, 'b', secondAddr)}`, `
        ${set('s', '(f64.const 0)')}
        ${positions('rssm', set('s', `(f64.add ${get('s')} ${load1(add(get('x'), get('q')))})`))}
        ${set('m', `(f64.div ${get('s')} ${get('pf')})`)}
        ${set('t', '(f64.const 0)')}
        ${positions('rssd', `
          ${set('d', `(f64.sub ${load1(add(get('x'), get('q')))} ${get('m')})`)}
          ${set('t', `(f64.add ${get('t')} (f64.mul ${get('d')} ${get('d')}))`)}`)}
        ${store1(meanAddr, get('m'))}
        ${store1(secondAddr, get('t'))}`)}
  )`;

/**
 * The element-wise kernels: every position of every row in memory order, then every block of 4
 * channels (`vector`), then every leftover channel (`scalar`), with $o the value's byte offset
 * and the channel's constants read from the (L1-resident) scratch each time.
 */
const elementBlocks = (prefix: string, vector: string, scalar: string) => `
    ${set('cB', `(i32.shl ${get('c')} ${k(2)})`)}
    ${set('c4B', `(i32.and ${get('cB')} ${k(-16)})`)}
    ${set('qEnd', mul(mul(get('rows'), get('positions')), get('cB')))}
    ${set('q', k(0))}
    ${loop(`${prefix}p`, '$q', get('qEnd'), get('cB'), `
      ${set('chB', k(0))}
      ${loop(`${prefix}v`, '$chB', get('c4B'), k(16), `${set('o', add(get('q'), get('chB')))} ${vector}`)}
      ${loop(`${prefix}s`, '$chB', get('cB'), k(4), `${set('o', add(get('q'), get('chB')))} ${scalar}`)}`)}`;
const constV = (which: number, half: 0 | 1) => `(v128.load offset=${16 * half} ${constAddr(which)})`;
const constS = (which: number) => `(f64.load ${constAddr(which)})`;

const normalize = `
  ;; xhat = (x − mean)·invStd, y = γ·xhat + β, from the stored xhat; consts: mean, invStd, γ, β.
  (func (export "bn_normalize") (param $x i32) (param $rows i32) (param $positions i32) (param $c i32) (param $consts i32)
    (param $xhat i32) (param $y i32)
    ${LOCALS}
    ${elementBlocks('nz', `
        ${set('v', `(v128.load ${add(get('x'), get('o'))})`)}
        ${set('h', demote2(fmul(fsub(lo('v'), constV(0, 0)), constV(1, 0)), fmul(fsub(hi('v'), constV(0, 1)), constV(1, 1))))}
        (v128.store ${add(get('xhat'), get('o'))} ${get('h')})
        (v128.store ${add(get('y'), get('o'))} ${demote2(fadd(fmul(constV(2, 0), lo('h')), constV(3, 0)), fadd(fmul(constV(2, 1), hi('h')), constV(3, 1)))})`, `
        ${set('d', `(f64.promote_f32 (f32.demote_f64 (f64.mul (f64.sub ${load1(add(get('x'), get('o')))} ${constS(0)}) ${constS(1)})))`)}
        ${store1(add(get('xhat'), get('o')), get('d'))}
        ${store1(add(get('y'), get('o')), `(f64.add (f64.mul ${constS(2)} ${get('d')}) ${constS(3)})`)}`)}
  )`;

const gradStats = `
  ;; out (2·C floats per row) = per channel the row's Σ dy, then its Σ dy·xhat.
  (func (export "bn_grad_stats") (param $dy i32) (param $xhat i32) (param $rows i32) (param $positions i32) (param $c i32) (param $out i32)
    ${LOCALS}
    ${rowBlocks('gs', (g) => `
        ${slots(g).map((i) => `${set(`a${i}`, ZERO)} ${set(`b${i}`, ZERO)}`).join(' ')}
        ${positions(`gs${g}`, `
          ${loadBlock(g, 'v', 'dy')}
          ${loadBlock(g, 'w', 'xhat')}
          ${slots(g).map((i) => `${set(`d${i}`, half('v', i))}
          ${set(`a${i}`, fadd(get(`a${i}`), get(`d${i}`)))}
          ${set(`b${i}`, fadd(get(`b${i}`), fmul(get(`d${i}`), half('w', i))))}`).join('\n          ')}`)}
        ${storeBlock(g, 'a', meanAddr)}
        ${storeBlock(g, 'b', secondAddr)}`, `
        ${set('s', '(f64.const 0)')} ${set('t', '(f64.const 0)')}
        ${positions('gss', `
          ${set('d', load1(add(get('dy'), get('q'))))}
          ${set('s', `(f64.add ${get('s')} ${get('d')})`)}
          ${set('t', `(f64.add ${get('t')} (f64.mul ${get('d')} ${load1(add(get('xhat'), get('q')))}))`)}`)}
        ${store1(meanAddr, get('s'))}
        ${store1(secondAddr, get('t'))}`)}
  )`;

const inputGrad = `
  ;; dx = k·((dy − S1/N) − xhat·S2/N); consts: k = γ·invStd, S1/N, S2/N.
  (func (export "bn_input_grad") (param $dy i32) (param $xhat i32) (param $rows i32) (param $positions i32) (param $c i32)
    (param $consts i32) (param $dx i32)
    ${LOCALS}
    ${elementBlocks('ig', `
        ${set('v', `(v128.load ${add(get('dy'), get('o'))})`)}
        ${set('w', `(v128.load ${add(get('xhat'), get('o'))})`)}
        (v128.store ${add(get('dx'), get('o'))} ${demote2(
          fmul(constV(0, 0), fsub(fsub(lo('v'), constV(1, 0)), fmul(lo('w'), constV(2, 0)))),
          fmul(constV(0, 1), fsub(fsub(hi('v'), constV(1, 1)), fmul(hi('w'), constV(2, 1)))))})`, `
        ${store1(add(get('dx'), get('o')), `(f64.mul ${constS(0)} (f64.sub (f64.sub ${load1(add(get('dy'), get('o')))} ${constS(1)}) (f64.mul ${load1(add(get('xhat'), get('o')))} ${constS(2)})))`)}`)}
  )`;

/** The four functions, to be placed inside the kernels' module (which imports the memory). */
export function batchNormWat(): string {
  return [rowStats, normalize, gradStats, inputGrad].join('\n');
}
