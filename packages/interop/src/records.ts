/**
 * The plain records the formats are written from and read into. Like `@loom/checkpoint`'s, they
 * name no model or layer types: `@loom/loom` converts its `Sequential` to and from these.
 */

/** One weight tensor, row-major float32, in the layer's Keras order (a Dense layer: kernel, then bias). */
export interface InteropWeight {
  /** Loom's name, `<layer name>/<weight>` (`dense_1/kernel`). */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A layer: its Loom class name and `getConfig()` (Keras's keys, in camelCase). */
export interface InteropLayer {
  className: string;
  config: Record<string, unknown>;
}

/** A Sequential model: its per-sample input shape, layers in order, and every weight in layer order. */
export interface InteropModel {
  name: string;
  inputShape: number[];
  layers: InteropLayer[];
  weights: InteropWeight[];
}
