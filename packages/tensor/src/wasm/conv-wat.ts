/**
 * The WebAssembly text of the convolution and pooling kernels: im2col, col2im, pool_forward and
 * pool_backward, the SIMD versions of the JavaScript references in conv.ts, which define their
 * semantics. Each takes a Window2d's fields as i32 parameters (in the interface's order) and
 * operands as byte addresses; outputs are sample-major, channels-last, written in order.
 *
 * - A window row's covered inputs are contiguous (the columns x0+kx0 … x0+kx1−1 of one image
 *   row, C values each), so im2col writes every window row as zeros, one contiguous copy and
 *   zeros, and col2im accumulates one contiguous run; both move 4 floats per v128.
 * - Pooling works on 4 channels per v128 (the channels are innermost), then a scalar tail.
 * - The results have the reference's bits: copies are copies; col2im and max backward add in
 *   f32 in output order (JS's `+=` on float32 values rounds the same); the max compares with
 *   the same strict `>` (the first maximum wins, NaN never does); average pooling sums in f64
 *   (f64x2, two channels per vector) and divides in f64, and its backward adds the f64 share
 *   to the promoted dx, as the JavaScript numbers do.
 */
import { loop } from './wat.js';

const get = (n: string) => `(local.get $${n})`;
const set = (n: string, v: string) => `(local.set $${n} ${v})`;
const k = (v: number) => `(i32.const ${v})`;
const add = (a: string, b: string) => `(i32.add ${a} ${b})`;
const sub = (a: string, b: string) => `(i32.sub ${a} ${b})`;
const mul = (a: string, b: string) => `(i32.mul ${a} ${b})`;
const maxS = (a: string, b: string) => `(select ${a} ${b} (i32.gt_s ${a} ${b}))`;
const minS = (a: string, b: string) => `(select ${a} ${b} (i32.lt_s ${a} ${b}))`;
const ZERO = '(v128.const i32x4 0 0 0 0)';
const IOTA = '(v128.const i32x4 0 1 2 3)';
/** Lanes 2 and 3 of a float32 vector moved to 0 and 1, for f64x2.promote_low_f32x4. */
const high = (v: string) => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})`;
/** Two f64x2 vectors rounded to one f32x4: [lo0, lo1, hi0, hi1]. */
const demote2 = (lo: string, hi: string) =>
  `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${lo}) (f32x4.demote_f64x2_zero ${hi}))`;

const GEOMETRY = ['inH', 'inW', 'c', 'kh', 'kw', 'sh', 'sw', 'pt', 'pl', 'outH', 'outW'].map((n) => `(param $${n} i32)`).join(' ');

/** The last (n mod 16) bytes of a run of n, n < 16 here and a multiple of 4: a double word and/or a word. */
const shortTail = (op8: string, op4: string) => `
          (if (i32.and ${get('n')} ${k(8)}) (then ${op8} ${set('i', add(get('i'), k(8)))}))
          (if (i32.and ${get('n')} ${k(4)}) (then ${op4}))`;

/** $n bytes (a multiple of 4) from $s to $d: whole vectors, then the last 16 bytes once more (a copy is idempotent), or, under 16, 8 and 4. */
const copyRun = (label: string) => `
        ${set('i', k(0))}
        ${loop(`${label}v`, '$i', `(i32.and ${get('n')} ${k(-16)})`, k(16), `
          (v128.store ${add(get('d'), get('i'))} (v128.load ${add(get('s'), get('i'))}))`)}
        (if (i32.and ${get('n')} ${k(15)}) (then
          (if (i32.ge_u ${get('n')} ${k(16)})
            (then (v128.store ${sub(add(get('d'), get('n')), k(16))} (v128.load ${sub(add(get('s'), get('n')), k(16))})))
            (else ${shortTail(`(i64.store ${get('d')} (i64.load ${get('s')}))`,
              `(i32.store ${add(get('d'), get('i'))} (i32.load ${add(get('s'), get('i'))}))`)}))))`;

/** $n zero bytes at $d, the same way. */
const zeroRun = (label: string) => `
        ${set('i', k(0))}
        ${loop(`${label}v`, '$i', `(i32.and ${get('n')} ${k(-16)})`, k(16), `
          (v128.store ${add(get('d'), get('i'))} ${ZERO})`)}
        (if (i32.and ${get('n')} ${k(15)}) (then
          (if (i32.ge_u ${get('n')} ${k(16)})
            (then (v128.store ${sub(add(get('d'), get('n')), k(16))} ${ZERO}))
            (else ${shortTail(`(i64.store ${get('d')} (i64.const 0))`, `(i32.store ${add(get('d'), get('i'))} ${k(0)})`)}))))`;

/** $d[i] += $s[i] over $n bytes: whole vectors, then one float at a time. */
const addRun = (label: string) => `
        ${set('i', k(0))}
        ${loop(`${label}v`, '$i', `(i32.and ${get('n')} ${k(-16)})`, k(16), `
          (v128.store ${add(get('d'), get('i'))} (f32x4.add (v128.load ${add(get('d'), get('i'))}) (v128.load ${add(get('s'), get('i'))})))`)}
        ${loop(`${label}s`, '$i', get('n'), k(4), `
          (f32.store ${add(get('d'), get('i'))} (f32.add (f32.load ${add(get('d'), get('i'))}) (f32.load ${add(get('s'), get('i'))})))`)}`;

/**
 * The loops im2col and col2im share, in the reference's order: sample, output position, kernel
 * row, with $o the window row's place in cols and $src its first covered input. `whole` runs
 * for a window row inside the image ($x0 ≥ 0 and $x0 + kw ≤ inW: kw·C contiguous floats), else
 * `part`, with the covered columns kx0 ≤ kx < kx1 as $leftB bytes of padding, $midB from $src,
 * then $rightB of padding; `outside` for a window row in the padding above or below. (Kernel
 * rows outside the output columns was tried: no faster for im2col (conv1 0.79 against 0.85 ms,
 * within the noise here), 3× slower for col2im, whose consecutive windows then add into the
 * same inputs back to back.)
 */
const patchLoops = (prefix: string, whole: string, part: string, outside: string) => `
    ${set('cB', `(i32.shl ${get('c')} ${k(2)})`)}
    ${set('runB', mul(get('kw'), get('cB')))}
    ${set('rowBytes', mul(get('inW'), get('cB')))}
    ${set('sampleBytes', mul(get('inH'), get('rowBytes')))}
    ${set('r', k(0))}
    ${loop(`${prefix}r`, '$r', get('rows'), k(1), `
      ${set('oy', k(0))}
      ${loop(`${prefix}y`, '$oy', get('outH'), k(1), `
        ${set('top', sub(mul(get('oy'), get('sh')), get('pt')))}
        ${set('ox', k(0))}
        ${loop(`${prefix}x`, '$ox', get('outW'), k(1), `
          ${set('x0', sub(mul(get('ox'), get('sw')), get('pl')))}
          ${set('whole', `(i32.and (i32.ge_s ${get('x0')} ${k(0)}) (i32.le_s ${add(get('x0'), get('kw'))} ${get('inW')}))`)}
          (if ${get('whole')}
            (then ${set('col', add(get('base'), mul(get('x0'), get('cB'))))})
            (else ;; the window's columns inside the image: kx0 ≤ kx < kx1
              ${set('kx0', minS(maxS(sub(k(0), get('x0')), k(0)), get('kw')))}
              ${set('kx1', maxS(minS(sub(get('inW'), get('x0')), get('kw')), get('kx0')))}
              ${set('leftB', mul(get('kx0'), get('cB')))}
              ${set('midB', mul(sub(get('kx1'), get('kx0')), get('cB')))}
              ${set('rightB', sub(get('runB'), mul(get('kx1'), get('cB'))))}
              ${set('col', add(get('base'), mul(add(get('x0'), get('kx0')), get('cB'))))}))
          ${set('ky', k(0))}
          ${loop(`${prefix}k`, '$ky', get('kh'), k(1), `
            ${set('iy', add(get('top'), get('ky')))}
            ;; unsigned: a row above the image (iy < 0) is out of range too
            (if (i32.ge_u ${get('iy')} ${get('inH')})
              (then ${outside})
              (else
                ${set('src', add(get('col'), mul(get('iy'), get('rowBytes'))))}
                (if ${get('whole')} (then ${whole}) (else ${part}))))
            ${set('o', add(get('o'), get('runB')))}`)}`)}`)}
      ${set('base', add(get('base'), get('sampleBytes')))}`)}`;

const PATCH_LOCALS = ['r', 'oy', 'ox', 'ky', 'iy', 'top', 'x0', 'whole', 'kx0', 'kx1', 'cB', 'runB', 'rowBytes', 'sampleBytes', 'base',
  'o', 'col', 'leftB', 'midB', 'rightB', 'src', 'd', 's', 'n', 'i'].map((n) => `(local $${n} i32)`).join(' ');

const im2col = `
  ;; cols (rows·outH·outW window rows of kw·C floats each, per kernel row) from x, zeros where
  ;; the window covers padding.
  (func (export "im2col") (param $x i32) (param $rows i32) (param $cols i32) ${GEOMETRY}
    ${PATCH_LOCALS}
    ${set('base', get('x'))}
    ${set('o', get('cols'))}
    ${patchLoops('ic',
      `${set('d', get('o'))} ${set('s', get('src'))} ${set('n', get('runB'))} ${copyRun('icw')}`, `
                    ${set('d', get('o'))} ${set('n', get('leftB'))} ${zeroRun('icl')}
                    ${set('d', add(get('o'), get('leftB')))} ${set('s', get('src'))} ${set('n', get('midB'))} ${copyRun('icm')}
                    ${set('d', add(get('d'), get('midB')))} ${set('n', get('rightB'))} ${zeroRun('icr')}`,
      `${set('d', get('o'))} ${set('n', get('runB'))} ${zeroRun('icz')}`)}
  )`;

const col2im = `
  ;; dx (overwritten) = the sum of every value of dcols at the input it was read from, each
  ;; sample in output-position order.
  (func (export "col2im") (param $dcols i32) (param $rows i32) (param $dx i32) ${GEOMETRY}
    ${PATCH_LOCALS}
    (memory.fill ${get('dx')} ${k(0)} ${mul(get('rows'), mul(mul(get('inH'), get('inW')), `(i32.shl ${get('c')} ${k(2)})`))})
    ${set('base', get('dx'))}
    ${set('o', get('dcols'))}
    ${patchLoops('ci',
      `${set('d', get('src'))} ${set('s', get('o'))} ${set('n', get('runB'))} ${addRun('ciw')}`,
      `${set('d', get('src'))} ${set('s', add(get('o'), get('leftB')))} ${set('n', get('midB'))} ${addRun('cip')}`,
      '')}
  )`;

/** The covered window of output (oy, ox): rows y0 ≤ iy < y1, columns x0 ≤ ix < x1 (padding never counts). */
const windowBounds = `
          ${set('top', sub(mul(get('oy'), get('sh')), get('pt')))}
          ${set('y0', maxS(get('top'), k(0)))}
          ${set('y1', minS(add(get('top'), get('kh')), get('inH')))}
          ${set('left', sub(mul(get('ox'), get('sw')), get('pl')))}
          ${set('x0', maxS(get('left'), k(0)))}
          ${set('x1', minS(add(get('left'), get('kw')), get('inW')))}`;

/** `body` for every covered input of channel $ch, with $p its address (in the sample at $xb) and $idx its index in the sample. */
const overWindow = (label: string, body: string) => `
            ${set('iy', get('y0'))}
            ${loop(`${label}y`, '$iy', get('y1'), k(1), `
              ${set('idx', add(mul(add(mul(get('iy'), get('inW')), get('x0')), get('c')), get('ch')))}
              ${set('p', add(get('xb'), `(i32.shl ${get('idx')} ${k(2)})`))}
              ${set('ix', get('x0'))}
              ${loop(`${label}x`, '$ix', get('x1'), k(1), `
                ${body}
                ${set('p', add(get('p'), get('cB')))}
                ${set('idx', add(get('idx'), get('c')))}`)}`)}`;

/** The output positions of every sample, with the window bounds set and `body` run per position. */
const outputLoops = (prefix: string, body: string) => `
    ${set('cB', `(i32.shl ${get('c')} ${k(2)})`)}
    ${set('sampleBytes', mul(mul(get('inH'), get('inW')), get('cB')))}
    ${set('c4', `(i32.and ${get('c')} ${k(-4)})`)}
    ${set('r', k(0))}
    ${loop(`${prefix}r`, '$r', get('rows'), k(1), `
      ${set('oy', k(0))}
      ${loop(`${prefix}y`, '$oy', get('outH'), k(1), `
        ${set('ox', k(0))}
        ${loop(`${prefix}x`, '$ox', get('outW'), k(1), `
          ${windowBounds}
          ${body}`)}`)}
      ${set('xb', add(get('xb'), get('sampleBytes')))}`)}`;

const POOL_LOCALS = `${['r', 'oy', 'ox', 'top', 'left', 'y0', 'y1', 'x0', 'x1', 'iy', 'ix', 'ch', 'c4', 'cB', 'sampleBytes', 'xb', 'p', 'idx',
  'po', 'pa', 'at'].map((n) => `(local $${n} i32)`).join(' ')}
    (local $best v128) (local $atV v128) (local $v v128) (local $m v128) (local $lo v128) (local $hi v128) (local $cnt v128)
    (local $b f32) (local $sum f64) (local $count f64)`;

const poolForward = `
  ;; y (and, for max, argmax as float32 indices within the sample when $arg ≠ 0) from x:
  ;; kind 0 is max (the first maximum in row-major window order), 1 the mean of the covered inputs.
  (func (export "pool_forward") (param $kind i32) (param $x i32) (param $rows i32) (param $y i32) (param $arg i32) ${GEOMETRY}
    ${POOL_LOCALS}
    ${set('xb', get('x'))}
    ${set('po', get('y'))}
    ${set('pa', get('arg'))}
    ${outputLoops('pf', `
          (if (i32.eqz ${get('kind')})
            (then
              ${set('ch', k(0))}
              ${loop('pfmv', '$ch', get('c4'), k(4), `
                ${set('best', '(f32x4.splat (f32.const -inf))')}
                ${set('atV', `(i32x4.add (i32x4.splat ${add(mul(add(mul(get('y0'), get('inW')), get('x0')), get('c')), get('ch'))}) ${IOTA})`)}
                ${overWindow('pfmvw', `
                ${set('v', `(v128.load ${get('p')})`)}
                ${set('m', `(f32x4.gt ${get('v')} ${get('best')})`)}
                ${set('best', `(v128.bitselect ${get('v')} ${get('best')} ${get('m')})`)}
                ${set('atV', `(v128.bitselect (i32x4.add (i32x4.splat ${get('idx')}) ${IOTA}) ${get('atV')} ${get('m')})`)}`)}
                (v128.store ${get('po')} ${get('best')})
                (if ${get('arg')} (then (v128.store ${get('pa')} (f32x4.convert_i32x4_s ${get('atV')}))))
                ${set('po', add(get('po'), k(16)))}
                ${set('pa', add(get('pa'), k(16)))}`)}
              ${loop('pfms', '$ch', get('c'), k(1), `
                ${set('b', '(f32.const -inf)')}
                ${set('at', add(mul(add(mul(get('y0'), get('inW')), get('x0')), get('c')), get('ch')))}
                ${overWindow('pfmsw', `
                (if (f32.gt (f32.load ${get('p')}) ${get('b')}) (then ${set('b', `(f32.load ${get('p')})`)} ${set('at', get('idx'))}))`)}
                (f32.store ${get('po')} ${get('b')})
                (if ${get('arg')} (then (f32.store ${get('pa')} (f32.convert_i32_s ${get('at')}))))
                ${set('po', add(get('po'), k(4)))}
                ${set('pa', add(get('pa'), k(4)))}`)})
            (else
              ${set('count', `(f64.convert_i32_s ${mul(sub(get('y1'), get('y0')), sub(get('x1'), get('x0')))})`)}
              ${set('cnt', `(f64x2.splat ${get('count')})`)}
              ${set('ch', k(0))}
              ${loop('pfav', '$ch', get('c4'), k(4), `
                ${set('lo', ZERO)} ${set('hi', ZERO)}
                ${overWindow('pfavw', `
                ${set('v', `(v128.load ${get('p')})`)}
                ${set('lo', `(f64x2.add ${get('lo')} (f64x2.promote_low_f32x4 ${get('v')}))`)}
                ${set('hi', `(f64x2.add ${get('hi')} (f64x2.promote_low_f32x4 ${high(get('v'))}))`)}`)}
                (v128.store ${get('po')} ${demote2(`(f64x2.div ${get('lo')} ${get('cnt')})`, `(f64x2.div ${get('hi')} ${get('cnt')})`)})
                ${set('po', add(get('po'), k(16)))}`)}
              ${loop('pfas', '$ch', get('c'), k(1), `
                ${set('sum', '(f64.const 0)')}
                ${overWindow('pfasw', `
                ${set('sum', `(f64.add ${get('sum')} (f64.promote_f32 (f32.load ${get('p')})))`)}`)}
                (f32.store ${get('po')} (f32.demote_f64 (f64.div ${get('sum')} ${get('count')})))
                ${set('po', add(get('po'), k(4)))}`)}))`)}
  )`;

const poolBackward = `
  ;; dx (overwritten) from dy: kind 0 adds each dy at its argmax (an index within the sample;
  ;; one out of range is skipped, so a bad index cannot write outside dx), 1 spreads each dy
  ;; evenly over the inputs its mean covered. Each sample in output order.
  (func (export "pool_backward") (param $kind i32) (param $dy i32) (param $rows i32) (param $arg i32) (param $dx i32) ${GEOMETRY}
    ${POOL_LOCALS}
    (local $end i32) (local $sampleIn i32) (local $scale f64) (local $share f64) (local $scaleV v128) (local $sLo v128) (local $sHi v128)
    (memory.fill ${get('dx')} ${k(0)} ${mul(get('rows'), mul(mul(get('inH'), get('inW')), `(i32.shl ${get('c')} ${k(2)})`))})
    ${set('xb', get('dx'))}
    ${set('po', get('dy'))}
    (if (i32.eqz ${get('kind')})
      (then
        ${set('sampleIn', mul(mul(get('inH'), get('inW')), get('c')))}
        ${set('pa', get('arg'))}
        ${set('r', k(0))}
        ${loop('pbmr', '$r', get('rows'), k(1), `
          ${set('end', add(get('po'), `(i32.shl ${mul(mul(get('outH'), get('outW')), get('c'))} ${k(2)})`))}
          ${loop('pbmj', '$po', get('end'), k(4), `
            ${set('idx', `(i32.trunc_sat_f32_u (f32.load ${get('pa')}))`)}
            (if (i32.lt_u ${get('idx')} ${get('sampleIn')}) (then
              ${set('p', add(get('xb'), `(i32.shl ${get('idx')} ${k(2)})`))}
              (f32.store ${get('p')} (f32.add (f32.load ${get('p')}) (f32.load ${get('po')})))))
            ${set('pa', add(get('pa'), k(4)))}`)}
          ${set('xb', add(get('xb'), mul(get('sampleIn'), k(4))))}`)})
      (else
        ${outputLoops('pba', `
          ${set('scale', `(f64.div (f64.const 1) (f64.convert_i32_s ${mul(sub(get('y1'), get('y0')), sub(get('x1'), get('x0')))}))`)}
          ${set('scaleV', `(f64x2.splat ${get('scale')})`)}
          ${set('ch', k(0))}
          ${loop('pbav', '$ch', get('c4'), k(4), `
            ${set('v', `(v128.load ${get('po')})`)}
            ${set('sLo', `(f64x2.mul (f64x2.promote_low_f32x4 ${get('v')}) ${get('scaleV')})`)}
            ${set('sHi', `(f64x2.mul (f64x2.promote_low_f32x4 ${high(get('v'))}) ${get('scaleV')})`)}
            ${overWindow('pbavw', `
                ${set('v', `(v128.load ${get('p')})`)}
                (v128.store ${get('p')} ${demote2(`(f64x2.add (f64x2.promote_low_f32x4 ${get('v')}) ${get('sLo')})`,
                  `(f64x2.add (f64x2.promote_low_f32x4 ${high(get('v'))}) ${get('sHi')})`)})`)}
            ${set('po', add(get('po'), k(16)))}`)}
          ${loop('pbas', '$ch', get('c'), k(1), `
            ${set('share', `(f64.mul (f64.promote_f32 (f32.load ${get('po')})) ${get('scale')})`)}
            ${overWindow('pbasw', `
                (f32.store ${get('p')} (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load ${get('p')})) ${get('share')})))`)}
            ${set('po', add(get('po'), k(4)))}`)}`)}))
  )`;

/** The four functions, to be placed inside the kernels' module (which imports the memory). */
export function convWat(): string {
  return [im2col, col2im, poolForward, poolBackward].join('\n');
}
