/**
 * The image layers through both formats, over plain records with seeded random weights:
 * the graph ONNX gets (layouts, pads, attributes), the tfjs topology (Keras keys), the tfjs
 * round trip, the refusals on import, and the two real consumers held against each other:
 * tfjs pads 'same' by TensorFlow's rule itself, so onnxruntime agreeing with it within 1e-5
 * on odd sizes and even kernels checks the explicit pads written here.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InteropLayer, InteropModel, InteropWeight } from './records.js';
import { toOnnx } from './onnx/index.js';
import { onnx } from './onnx/schema.js';
import { randomInputs, randomWeight, rng } from './onnx/testing.js';
import { InteropError, fromTfjsLayers, toTfjsLayers } from './tfjs/index.js';
import { windowOf } from './geometry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  ort.env.wasm.numThreads = 1;
});

const conv = (name: string, filters: number, kernelSize: [number, number], extra: Record<string, unknown> = {}): InteropLayer =>
  ({ className: 'Conv2D', config: { name, filters, kernelSize, strides: [1, 1], padding: 'valid', activation: 'linear', useBias: true, kernelInitializer: 'glorot_uniform', biasInitializer: 'zeros', ...extra } });
const pool = (className: string, name: string, poolSize: [number, number], strides: [number, number], padding: string): InteropLayer =>
  ({ className, config: { name, poolSize, strides, padding } });
const bn = (name: string, extra: Record<string, unknown> = {}): InteropLayer =>
  ({ className: 'BatchNormalization', config: { name, axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true, ...extra } });

/** BN weights with moving statistics far from 0 and 1, so a wrong axis or a dropped weight shows. */
function bnWeights(next: () => number, name: string, c: number, scale = true, center = true): InteropWeight[] {
  const w: InteropWeight[] = [];
  if (scale) w.push({ name: `${name}/gamma`, shape: [c], data: Float32Array.from({ length: c }, () => 0.5 + next()) });
  if (center) w.push({ name: `${name}/beta`, shape: [c], data: Float32Array.from({ length: c }, () => next() - 0.5) });
  w.push({ name: `${name}/moving_mean`, shape: [c], data: Float32Array.from({ length: c }, () => next() * 2 - 1) });
  w.push({ name: `${name}/moving_variance`, shape: [c], data: Float32Array.from({ length: c }, () => 0.2 + 2 * next()) });
  return w;
}

/**
 * On a 9×11×2 image: a 4×3 'same' conv (an even kernel: the odd pad row at the bottom), BN, a
 * 2×2 stride-2 'same' MaxPool over odd sizes (padded windows), a stride-2 'same' conv, an AveragePool 'same' over an odd size
 * (padded windows), a Dense on the image's last axis, a BN on that [h, w, c] output (NCHW), a
 * Flatten; and a second branch of the record family with GlobalAveragePooling2D and a BN on a
 * vector and on a [positions, c] sample (the Mul/Add form).
 */
function imageModel(seed: number): InteropModel {
  const next = rng(seed);
  return {
    name: 'image_model', inputShape: [9, 11, 2],
    layers: [
      conv('c1', 5, [4, 3], { padding: 'same', activation: 'relu' }), // 9×11×5
      bn('bn1'),
      pool('MaxPooling2D', 'mp', [2, 2], [2, 2], 'same'), // 5×6×5, the padded row and column at the bottom/right
      conv('c2', 6, [3, 3], { padding: 'same', strides: [2, 2], activation: 'leaky_relu', alpha: 0.2 }), // 3×3×6
      { className: 'Activation', config: { name: 'act', activation: 'tanh' } },
      pool('AveragePooling2D', 'ap', [2, 2], [2, 2], 'same'), // 2×2×6
      { className: 'Dense', config: { name: 'd1', units: 4, activation: 'elu', useBias: true } }, // 2×2×4
      bn('bn2', { center: false }),
      { className: 'Flatten', config: { name: 'flat' } },
      { className: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', useBias: true } },
    ],
    weights: [
      randomWeight(next, 'c1/kernel', [4, 3, 2, 5], 0.5), randomWeight(next, 'c1/bias', [5], 0.2),
      ...bnWeights(next, 'bn1', 5),
      randomWeight(next, 'c2/kernel', [3, 3, 5, 6], 0.4), randomWeight(next, 'c2/bias', [6], 0.2),
      randomWeight(next, 'd1/kernel', [6, 4], 0.6), randomWeight(next, 'd1/bias', [4], 0.2),
      ...bnWeights(next, 'bn2', 4, true, false),
      randomWeight(next, 'd2/kernel', [16, 3], 0.6), randomWeight(next, 'd2/bias', [3], 0.2),
    ],
  };
}

function gapModel(seed: number): InteropModel {
  const next = rng(seed);
  return {
    name: 'gap_model', inputShape: [7, 8, 3],
    layers: [
      conv('c1', 4, [2, 2], { strides: [2, 1], activation: 'sigmoid' }), // 3×7×4
      { className: 'Dense', config: { name: 'd0', units: 5, activation: 'linear', useBias: false } }, // 3×7×5
      { className: 'Flatten', config: { name: 'f0' } },
      { className: 'Dense', config: { name: 'd1', units: 42, activation: 'relu', useBias: true } },
      { className: 'Dropout', config: { name: 'drop', rate: 0.5 } },
      bn('bn_vec', { scale: false }),
      // Back to an image for the global pool would need a Reshape, which Loom lacks: the GAP
      // branch is the next model.
    ],
    weights: [
      randomWeight(next, 'c1/kernel', [2, 2, 3, 4], 0.5), randomWeight(next, 'c1/bias', [4], 0.2),
      randomWeight(next, 'd0/kernel', [4, 5], 0.5),
      randomWeight(next, 'd1/kernel', [105, 42], 0.2), randomWeight(next, 'd1/bias', [42], 0.2),
      ...bnWeights(next, 'bn_vec', 42, false, true),
    ],
  };
}

function globalPoolModel(seed: number): InteropModel {
  const next = rng(seed);
  return {
    name: 'global_pool', inputShape: [6, 5, 3],
    layers: [
      conv('c1', 4, [3, 3], { padding: 'same', activation: 'relu' }),
      { className: 'Dense', config: { name: 'd0', units: 6, activation: 'linear', useBias: true } }, // 6×5×6, NHWC
      bn('bn_seq'),
      { className: 'GlobalAveragePooling2D', config: { name: 'gap' } },
      { className: 'Dense', config: { name: 'd1', units: 3, activation: 'linear', useBias: true } },
    ],
    weights: [
      randomWeight(next, 'c1/kernel', [3, 3, 3, 4], 0.5), randomWeight(next, 'c1/bias', [4], 0.2),
      randomWeight(next, 'd0/kernel', [4, 6], 0.5), randomWeight(next, 'd0/bias', [6], 0.1),
      ...bnWeights(next, 'bn_seq', 6),
      randomWeight(next, 'd1/kernel', [6, 3], 0.5), randomWeight(next, 'd1/bias', [3], 0.1),
    ],
  };
}

/** BN on a [positions, c] sample, the Mul/Add form. */
function seqBnModel(seed: number): InteropModel {
  const next = rng(seed);
  return {
    name: 'seq_bn', inputShape: [4, 3],
    layers: [bn('bn_seq'), { className: 'Flatten', config: { name: 'flat' } }],
    weights: bnWeights(next, 'bn_seq', 3),
  };
}

async function viaTfjs(model: InteropModel, x: Float32Array, rows: number): Promise<Float32Array> {
  const { modelJson, shards } = toTfjsLayers(model);
  const bytes = new Uint8Array(shards.reduce((p, s) => p + s.bytes.length, 0));
  let at = 0;
  for (const s of shards) { bytes.set(s.bytes, at); at += s.bytes.length; }
  const m = await tf.loadLayersModel({
    load: async () => ({ modelTopology: JSON.parse(JSON.stringify(modelJson.modelTopology)) as object, weightSpecs: modelJson.weightsManifest[0]!.weights, weightData: bytes.buffer }),
  });
  const input = tf.tensor(x, [rows, ...model.inputShape]);
  const out = m.predict(input) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  m.dispose();
  return values;
}

async function viaOnnx(model: InteropModel, x: Float32Array, rows: number, opset = 13): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(toOnnx(model, { opset }));
  try {
    const out = (await session.run({ input: new ort.Tensor('float32', x, [rows, ...model.inputShape]) }))['output']!;
    return { dims: out.dims, data: out.data as Float32Array };
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('the image layers in onnxruntime and in TensorFlow.js agree', () => {
  for (const [label, make, outShape] of [
    ['conv, pools, BN (image and after a Dense on the last axis), Flatten', () => imageModel(1), [3]],
    ['conv with strides [2, 1], Dense on an image, BN on a vector', () => gapModel(2), [42]],
    ['GlobalAveragePooling2D after a BN in NHWC', () => globalPoolModel(3), [3]],
    ['BN on a [positions, channels] sample (Mul and Add)', () => seqBnModel(4), [12]],
  ] as const) {
    it(`${label}: within 1e-5 on 64 random samples`, async () => {
      const model = make();
      const rows = 64, perSample = model.inputShape.reduce((p, d) => p * d, 1);
      const x = randomInputs(9, rows, perSample);
      const want = await viaTfjs(model, x, rows);
      const got = await viaOnnx(model, x, rows);
      expect(got.dims).toEqual([rows, ...outShape]);
      expect(maxDiff(got.data, want)).toBeLessThan(1e-5);
      // The outputs are not constant: the layers did something.
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.05);
    });
  }

  it('gives the same outputs under every opset it writes, and for batches of 1 and 5', async () => {
    const model = imageModel(5);
    const perSample = 9 * 11 * 2;
    const x = randomInputs(3, 5, perSample);
    const want = await viaTfjs(model, x, 5);
    for (const opset of [13, 15, 18]) expect(maxDiff((await viaOnnx(model, x, 5, opset)).data, want), `opset ${opset}`).toBeLessThan(1e-5);
    expect(maxDiff((await viaOnnx(model, x.subarray(0, perSample), 1)).data, want.subarray(0, 3))).toBeLessThan(1e-5);
  });
});

type Node = { name: string; opType: string; input: string[]; output: string[]; attribute: { name: string; type: number; f?: number; i?: number; ints?: number[] }[] };
function graphOf(model: InteropModel) {
  return (onnx.ModelProto.toObject(onnx.ModelProto.decode(toOnnx(model)), { longs: Number, defaults: false, arrays: true }) as {
    graph: { node: Node[]; initializer: { name: string; dims: number[]; rawData?: Uint8Array }[] };
  }).graph;
}
const T = onnx.AttributeProto.AttributeType;
const attrs = (n: Node) => Object.fromEntries(n.attribute.map((a) => [a.name, a.type === T.INTS ? a.ints : a.type === T.INT ? a.i : a.f]));

describe('toOnnx on image layers', () => {
  it('stays NCHW across consecutive Conv, BN, activation and pooling ops: one Transpose in, one out', () => {
    const g = graphOf(imageModel(1));
    expect(g.node.map((n) => n.opType)).toEqual([
      'Transpose', 'Conv', 'Relu', 'BatchNormalization', 'MaxPool', 'Conv', 'LeakyRelu', 'Tanh', 'AveragePool',
      'Transpose', 'MatMul', 'Add', 'Elu', 'Transpose', 'BatchNormalization', 'Transpose', 'Flatten', 'Gemm', 'Softmax',
    ]);
    const transposes = g.node.filter((n) => n.opType === 'Transpose').map((n) => attrs(n).perm);
    expect(transposes).toEqual([[0, 3, 1, 2], [0, 2, 3, 1], [0, 3, 1, 2], [0, 2, 3, 1]]);
    expect(g.node.at(-1)!.output).toEqual(['output']);
  });

  it("writes 'same' as explicit pads by TensorFlow's rule, the odd one at the bottom/right; count_include_pad 0", () => {
    const g = graphOf(imageModel(1));
    const byName = (name: string) => g.node.find((n) => n.name === name)!;
    // 4×3 kernel, stride 1 on 9×11: 3 rows of padding (1 top, 2 bottom), 2 columns (1 and 1).
    expect(attrs(byName('c1/Conv'))).toEqual({ kernel_shape: [4, 3], strides: [1, 1], pads: [1, 1, 2, 1], dilations: [1, 1], group: 1 });
    // 2×2 stride 2 on 9×11: out 5×6; one padded row and column, at the bottom and right.
    expect(attrs(byName('mp/MaxPool'))).toEqual({ kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] });
    // 3×3 stride 2 on 5×6: out 3×3; 2 rows (1 and 1), 1 column (at the right).
    expect(attrs(byName('c2/Conv')).pads).toEqual([1, 0, 1, 1]);
    // 2×2 stride 2 on 3×3: out 2×2, one padded row and column, at the bottom and right.
    expect(attrs(byName('ap/AveragePool'))).toEqual({ kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1], count_include_pad: 0 });
    expect(windowOf(28, 28, 3, 3, 2, 2, 'same')).toEqual({ outH: 14, outW: 14, pads: [0, 0, 1, 1] });
  });

  it("transposes the kernel once into Conv's [out, in, kh, kw]", () => {
    const model = imageModel(1);
    const g = graphOf(model);
    const init = g.initializer.find((i) => i.name === 'c1/kernel')!;
    expect(init.dims).toEqual([5, 2, 4, 3]);
    const got = new Float32Array(new Uint8Array(init.rawData!).buffer);
    const k = model.weights[0]!.data; // [4, 3, 2, 5]
    for (const [i, j, ci, o] of [[0, 0, 0, 0], [3, 2, 1, 4], [1, 2, 0, 3], [2, 0, 1, 1]] as const) {
      expect(got[((o * 2 + ci) * 4 + i) * 3 + j]).toBe(k[((i * 3 + j) * 2 + ci) * 5 + o]);
    }
  });

  it('gives BatchNormalization its epsilon and ones/zeros in place of a missing gamma/beta; GlobalAveragePool then Flatten', () => {
    const g = graphOf(globalPoolModel(3));
    const bnNode = g.node.find((n) => n.opType === 'BatchNormalization')!;
    expect(bnNode.input).toEqual(['bn_seq/nchw', 'bn_seq/gamma', 'bn_seq/beta', 'bn_seq/moving_mean', 'bn_seq/moving_variance']);
    expect(attrs(bnNode).epsilon).toBeCloseTo(1e-3, 9);
    expect(g.node.map((n) => n.opType)).toEqual(['Transpose', 'Conv', 'Relu', 'Transpose', 'MatMul', 'Add', 'Transpose', 'BatchNormalization', 'GlobalAveragePool', 'Flatten', 'Gemm']);
    const noScale = graphOf(gapModel(2)).node.find((n) => n.opType === 'BatchNormalization')!;
    expect(noScale.input).toEqual(['d1/relu', 'bn_vec/gamma_ones', 'bn_vec/beta', 'bn_vec/moving_mean', 'bn_vec/moving_variance']);
  });

  it('refuses what it cannot map, naming the layer', () => {
    const m = imageModel(1);
    const withLayer = (i: number, l: InteropLayer): InteropModel => ({ ...m, layers: m.layers.map((x, k) => (k === i ? l : x)) });
    expect(() => toOnnx(withLayer(0, conv('c1', 5, [4, 3], { padding: 'causal' })))).toThrow(`toOnnx: layer 'c1': padding must be 'valid' or 'same', got "causal"`);
    expect(() => toOnnx(withLayer(0, conv('c1', 5, [10, 3])))).toThrow(`layer 'c1': a 10×3 window is larger than its 9×11 input under padding 'valid'`);
    expect(() => toOnnx(withLayer(0, conv('c1', 5, [4, 3], { activation: 'softmax' })))).toThrow(`layer 'c1' (Conv2D) has activation "softmax"`);
    expect(() => toOnnx(withLayer(1, bn('bn1', { axis: 1 })))).toThrow(`layer 'bn1': axis must be -1`);
    expect(() => toOnnx({ ...m, inputShape: [99] })).toThrow(`layer 'c1' (Conv2D) needs images [height, width, channels] per sample, got [99]`);
    expect(() => toOnnx({ ...m, weights: m.weights.map((w) => (w.name === 'c1/kernel' ? { ...w, shape: [3, 4, 2, 5] } : w)) }))
      .toThrow(`toOnnx: weight 'c1/kernel' has shape [3, 4, 2, 5], but layer 'c1' needs [4, 3, 2, 5]`);
  });
});

function kindOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return e instanceof InteropError ? e.kind : `not an InteropError: ${String(e)}`; }
  return undefined;
}

function roundTrip(model: InteropModel): Promise<InteropModel> {
  const { modelJson, shards } = toTfjsLayers(model);
  const files = new Map(shards.map((s) => [s.name, s.bytes]));
  return fromTfjsLayers(JSON.parse(JSON.stringify(modelJson)), (p) => files.get(p)!);
}

describe('TensorFlow.js Layers and the image layers', () => {
  it("writes Keras's class names, config keys and tfjs weight names", () => {
    const { modelJson } = toTfjsLayers(imageModel(1));
    const ls = modelJson.modelTopology.config.layers;
    expect(ls.map((l) => l.class_name)).toEqual(['Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Conv2D', 'LeakyReLU', 'Activation', 'AveragePooling2D', 'Dense', 'BatchNormalization', 'Flatten', 'Dense']);
    expect(ls[0]!.config).toMatchObject({
      name: 'c1', filters: 5, kernel_size: [4, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1],
      activation: 'relu', use_bias: true, batch_input_shape: [null, 9, 11, 2],
      kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform' } },
    });
    expect(ls[1]!.config).toMatchObject({ name: 'bn1', axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true, gamma_initializer: { class_name: 'Ones' }, moving_variance_initializer: { class_name: 'Ones' } });
    expect(ls[2]!.config).toMatchObject({ name: 'mp', pool_size: [2, 2], strides: [2, 2], padding: 'same', data_format: 'channels_last' });
    expect(ls[4]!.config).toMatchObject({ name: 'c2_leaky_relu', alpha: 0.2 });
    expect(modelJson.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(imageModel(1).weights.map((w) => w.name));
    expect(modelJson.weightsManifest[0]!.weights.find((w) => w.name === 'bn2/moving_mean')!.shape).toEqual([4]);
  });

  it('reads its own export back into the same layers and weight bits (the LeakyReLU folded back into its Conv2D)', async () => {
    for (const model of [imageModel(1), gapModel(2), globalPoolModel(3)]) {
      const back = await roundTrip(model);
      expect(back.layers.map((l) => l.className)).toEqual(model.layers.map((l) => l.className));
      expect(back.layers.find((l) => l.config.name === 'c1')!.config).toMatchObject({ ...model.layers[0]!.config, inputShape: model.inputShape });
      expect(back.weights.map((w) => [w.name, w.shape])).toEqual(model.weights.map((w) => [w.name, w.shape]));
      back.weights.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(model.weights[i]!.data.buffer))).toBe(true));
    }
    const c2 = (await roundTrip(imageModel(1))).layers[3]!.config;
    expect(c2).toMatchObject({ name: 'c2', activation: 'leaky_relu', alpha: 0.2, strides: [2, 2], padding: 'same' });
  });

  /** imageModel's export with `edit` applied to layer `i`'s Keras config. */
  function edited(i: number, edit: (c: Record<string, unknown>) => void): Promise<InteropModel> {
    const { modelJson, shards } = toTfjsLayers(imageModel(1));
    const json = JSON.parse(JSON.stringify(modelJson)) as typeof modelJson;
    edit(json.modelTopology.config.layers[i]!.config);
    const files = new Map(shards.map((s) => [s.name, s.bytes]));
    return fromTfjsLayers(json, (p) => files.get(p)!);
  }
  async function refusal(p: Promise<unknown>): Promise<InteropError> {
    const e = await p.then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(InteropError);
    return e as InteropError;
  }

  it('refuses on import, by name, what Loom cannot build', async () => {
    const cases: [number, (c: Record<string, unknown>) => void, string, string][] = [
      [0, (c) => { c.dilation_rate = [2, 2]; }, 'unsupported', `Conv2D layer 'c1' has dilation_rate [2, 2]; Loom's Conv2D supports 1 only`],
      [0, (c) => { c.dilation_rate = 2; }, 'unsupported', `dilation_rate [2, 2]`],
      [0, (c) => { c.data_format = 'channels_first'; }, 'unsupported', `Conv2D layer 'c1' has data_format "channels_first"; Loom is channels_last`],
      [2, (c) => { c.data_format = 'channels_first'; }, 'unsupported', `MaxPooling2D layer 'mp' has data_format "channels_first"`],
      [0, (c) => { c.groups = 2; }, 'unsupported', `Conv2D layer 'c1' has groups 2`],
      [0, (c) => { c.padding = 'causal'; }, 'unsupported', `Conv2D layer 'c1' has padding "causal"`],
      [0, (c) => { c.activation = 'softmax'; }, 'unsupported', `Conv2D layer 'c1' has activation softmax`],
      [0, (c) => { c.kernel_regularizer = { class_name: 'L2', config: { l2: 0.01 } }; }, 'unsupported', `Conv2D layer 'c1' has a kernel_regularizer`],
      [0, (c) => { c.kernel_size = [3]; }, 'invalid', `Conv2D layer 'c1': kernel_size must be a positive integer or a pair of them, got [3]`],
      [0, (c) => { c.kernel_size = [12, 3]; c.padding = 'valid'; }, 'invalid', `Conv2D layer 'c1': a 12×3 window is larger than its 9×11 input under padding 'valid'`],
      [1, (c) => { c.axis = 1; }, 'unsupported', `BatchNormalization layer 'bn1' normalizes axis 1 of a rank-4 input; Loom normalizes the last axis only`],
      [1, (c) => { c.axis = [1, 2]; }, 'unsupported', `normalizes axis [1,2]`],
      [1, (c) => { c.renorm = true; }, 'unsupported', `BatchNormalization layer 'bn1' has renorm true`],
      [1, (c) => { c.epsilon = 0; }, 'invalid', `BatchNormalization layer 'bn1': epsilon must be a positive number, got 0`],
    ];
    for (const [i, edit, kind, message] of cases) {
      const e = await refusal(edited(i, edit));
      expect(e.message, message).toContain(message);
      expect(e.kind, message).toBe(kind);
    }
    // Axis 3 of a rank-4 input is the last one, as Keras often writes it.
    await expect(edited(1, (c) => { c.axis = [3]; })).resolves.toBeTruthy();
    const gap = toTfjsLayers(globalPoolModel(3)).modelJson;
    gap.modelTopology.config.layers[3]!.config.keepdims = true;
    const e = await refusal(fromTfjsLayers(gap, () => new Uint8Array(0)));
    expect(e.message).toContain(`GlobalAveragePooling2D layer 'gap' has keepdims true`);
  });

  it('refuses a conv kernel whose shape does not fit its layer, naming the weight', async () => {
    const { modelJson, shards } = toTfjsLayers(imageModel(1));
    const json = JSON.parse(JSON.stringify(modelJson)) as typeof modelJson;
    json.weightsManifest[0]!.weights[0]!.shape = [3, 4, 2, 5]; // c1/kernel: as many values, the wrong layout
    const e = await refusal(fromTfjsLayers(json, (p) => shards.find((s) => s.name === p)!.bytes));
    expect(e.kind).toBe('shape-mismatch');
    expect(e.message).toContain(`weight 'c1/kernel' has shape [3, 4, 2, 5], but its layer needs [4, 3, 2, 5]`);
  });

  it('refuses an image layer on a flat input, naming it', () => {
    const m: InteropModel = { name: 'm', inputShape: [12], layers: [conv('c', 2, [2, 2])], weights: [] };
    expect(() => toTfjsLayers(m)).toThrow(`Conv2D layer 'c' gets a [12] input; it needs images [height, width, channels]`);
    expect(kindOf(() => toTfjsLayers(m))).toBe('invalid');
  });
});
