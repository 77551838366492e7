/**
 * Build step (`npm run build` in @loom/tensor): assembles the generated WebAssembly text into
 * dist/wasm/kernels.wasm (SIMD128) and dist/wasm/kernels-relaxed.wasm (relaxed-SIMD madd) with
 * the wabt package. No binary is committed; this runs on every build.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { kernelsWat } from './kernels-wat.js';

const wabt = await wabtInit();
const outDir = fileURLToPath(new URL('.', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const relaxed of [false, true]) {
  const features = { simd: true, threads: true, bulk_memory: true, sat_float_to_int: true, relaxed_simd: relaxed };
  const mod = wabt.parseWat(`kernels${relaxed ? '-relaxed' : ''}.wat`, kernelsWat({ relaxed }), features);
  (mod.validate as (f: object) => void)(features); // wabt's typings omit the features argument
  const { buffer } = mod.toBinary({});
  writeFileSync(`${outDir}/kernels${relaxed ? '-relaxed' : ''}.wasm`, buffer);
  mod.destroy();
}
