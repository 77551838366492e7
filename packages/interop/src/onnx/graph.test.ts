import { describe, expect, it } from 'vitest';
import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
import { toOnnx } from './index.js';
import { onnx } from './schema.js';

// Unit tests of the graph toOnnx writes, read back with onnx-proto's decoder.

function weight(name: string, shape: number[]): InteropWeight {
  const n = shape.reduce((p, d) => p * d, 1);
  return { name, shape, data: Float32Array.from({ length: n }, (_, i) => (i % 7) / 7 - 0.5) };
}
const dense = (name: string, units: number, activation: string, extra: Record<string, unknown> = {}): InteropLayer =>
  ({ className: 'Dense', config: { name, units, activation, useBias: true, ...extra } });

function mlp(): InteropModel {
  return {
    name: 'mlp',
    inputShape: [2, 3],
    layers: [
      { className: 'Flatten', config: { name: 'flatten_1' } },
      dense('dense_1', 5, 'relu'),
      { className: 'Dropout', config: { name: 'dropout_1', rate: 0.5 } },
      dense('dense_2', 4, 'leaky_relu'),
      { className: 'Maxout', config: { name: 'maxout_1', units: 3, pieces: 2 } },
      { className: 'Activation', config: { name: 'activation_1', activation: 'elu' } },
      dense('dense_3', 2, 'softmax'),
    ],
    weights: [
      weight('dense_1/kernel', [6, 5]), weight('dense_1/bias', [5]),
      weight('dense_2/kernel', [5, 4]), weight('dense_2/bias', [4]),
      weight('maxout_1/kernel', [4, 6]), weight('maxout_1/bias', [6]),
      weight('dense_3/kernel', [3, 2]), weight('dense_3/bias', [2]),
    ],
  };
}

type Decoded = ReturnType<typeof decode>;
function decode(bytes: Uint8Array) {
  const m = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, defaults: false, arrays: true }) as {
    irVersion: number; producerName: string; opsetImport: { domain?: string; version: number }[];
    graph: {
      name: string;
      node: { name: string; opType: string; input: string[]; output: string[]; attribute: { name: string; type: number; f?: number; i?: number; ints?: number[] }[] }[];
      initializer: { name: string; dims: number[]; dataType: number; rawData?: Uint8Array; int64Data?: number[] }[];
      input: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimParam?: string; dimValue?: number }[] } } } }[];
      output: Decoded['graph']['input'];
    };
  };
  return m;
}
const T = onnx.AttributeProto.AttributeType;
const attrs = (n: Decoded['graph']['node'][number]) =>
  Object.fromEntries(n.attribute.map((a) => [a.name, a.type === T.INTS ? a.ints : a.type === T.INT ? a.i : a.f]));

describe('toOnnx graph', () => {
  it('declares one default-domain opset (13 unless asked) with its IR version and the producer', () => {
    const m = decode(toOnnx(mlp()));
    expect(m.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(m.irVersion).toBe(7);
    expect(m.producerName).toBe('loom');
    const m17 = decode(toOnnx(mlp(), { opset: 17, producerName: 'me' }));
    expect(m17.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect(m17.irVersion).toBe(8);
    expect(m17.producerName).toBe('me');
    expect(m17.graph.name).toBe('mlp');
  });

  it('names the input `input` and the output `output`, both float with a dynamic batch dimension', () => {
    const g = decode(toOnnx(mlp())).graph;
    expect(g.input).toHaveLength(1);
    expect(g.output).toHaveLength(1);
    expect(g.input[0]!.name).toBe('input');
    expect(g.output[0]!.name).toBe('output');
    expect(g.input[0]!.type.tensorType.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(g.input[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 2 }, { dimValue: 3 }]);
    expect(g.output[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 2 }]);
  });

  it('maps each layer onto standard ops, in order, with Dropout and linear omitted', () => {
    const g = decode(toOnnx(mlp())).graph;
    expect(g.node.map((n) => n.opType)).toEqual([
      'Flatten', 'Gemm', 'Relu', 'Gemm', 'LeakyRelu', 'MatMul', 'Add', 'Reshape', 'ReduceMax', 'Elu', 'Gemm', 'Softmax',
    ]);
    // A chain: each node reads the previous node's output, the first reads `input`, the last writes `output`.
    expect(g.node[0]!.input).toEqual(['input']);
    for (let i = 1; i < g.node.length; i++) expect(g.node[i]!.input[0]).toBe(g.node[i - 1]!.output[0]);
    expect(g.node.at(-1)!.output).toEqual(['output']);
    expect(g.node[1]!.input).toEqual(['flatten_1/flatten', 'dense_1/kernel', 'dense_1/bias']);
  });

  it('writes the attributes the semantics need: alphas, softmax axis, flatten axis, the maxout reduction', () => {
    const g = decode(toOnnx(mlp())).graph;
    const byOp = (op: string) => g.node.filter((n) => n.opType === op).map(attrs);
    expect(byOp('Flatten')).toEqual([{ axis: 1 }]);
    expect(byOp('LeakyRelu')[0]!['alpha']).toBeCloseTo(0.1, 7);
    expect(byOp('Elu')).toEqual([{ alpha: 1 }]);
    expect(byOp('Softmax')).toEqual([{ axis: -1 }]);
    expect(byOp('ReduceMax')).toEqual([{ axes: [2], keepdims: 0 }]);
    expect(byOp('Gemm')).toEqual([{}, {}, {}]); // transA = transB = 0: the kernel is [in, units]
    const shape = g.initializer.find((t) => t.name === 'maxout_1/pieces_shape')!;
    expect(shape.dataType).toBe(onnx.TensorProto.DataType.INT64);
    expect(shape.int64Data).toEqual([0, 3, 2]); // 0 copies the dynamic batch
  });

  it("uses a layer's own alpha", () => {
    const model: InteropModel = {
      name: 'a', inputShape: [3],
      layers: [dense('d', 2, 'leaky_relu', { alpha: 0.25 }), { className: 'Activation', config: { name: 'e', activation: 'elu', alpha: 0.5 } }],
      weights: [weight('d/kernel', [3, 2]), weight('d/bias', [2])],
    };
    const g = decode(toOnnx(model)).graph;
    expect(attrs(g.node[1]!)).toEqual({ alpha: 0.25 });
    expect(attrs(g.node[2]!)).toEqual({ alpha: 0.5 });
  });

  it('stores every weight as a float32 initializer under its Loom name, with its shape and bytes', () => {
    const model = mlp();
    const g = decode(toOnnx(model)).graph;
    const floats = g.initializer.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT);
    expect(floats.map((t) => t.name)).toEqual(model.weights.map((w) => w.name));
    for (const w of model.weights) {
      const t = floats.find((f) => f.name === w.name)!;
      expect(t.dims).toEqual(w.shape);
      const back = new Float32Array(new Uint8Array(t.rawData!).buffer);
      expect(back).toEqual(w.data);
    }
  });

  it('applies a Dense to the last axis of a multi-dimensional sample, as Loom does: MatMul + Add', () => {
    const model: InteropModel = { name: 'x', inputShape: [2, 4], layers: [dense('d', 3, 'relu')], weights: [weight('d/kernel', [4, 3]), weight('d/bias', [3])] };
    const m = decode(toOnnx(model));
    expect(m.graph.node.map((n) => [n.opType, n.input])).toEqual([['MatMul', ['input', 'd/kernel']], ['Add', ['d/matmul', 'd/bias']], ['Relu', ['d/add']]]);
    expect(m.graph.output[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 2 }, { dimValue: 3 }]);
  });

  it('omits the bias input of Gemm for useBias false', () => {
    const model: InteropModel = { name: 'x', inputShape: [4], layers: [dense('d', 3, 'tanh', { useBias: false })], weights: [weight('d/kernel', [4, 3])] };
    const g = decode(toOnnx(model)).graph;
    expect(g.node.map((n) => [n.opType, n.input])).toEqual([['Gemm', ['input', 'd/kernel']], ['Tanh', ['d/gemm']]]);
  });

  it('writes an Identity when no layer emits a node', () => {
    const model: InteropModel = { name: 'x', inputShape: [4], layers: [{ className: 'Dropout', config: { name: 'drop', rate: 0.1 } }], weights: [] };
    const g = decode(toOnnx(model)).graph;
    expect(g.node.map((n) => [n.opType, n.input, n.output])).toEqual([['Identity', ['input'], ['output']]]);
  });

  it('passes ReduceMax its axes as an input from opset 18', () => {
    const g = decode(toOnnx(mlp(), { opset: 18 })).graph;
    const rm = g.node.find((n) => n.opType === 'ReduceMax')!;
    expect(rm.input).toEqual(['maxout_1/pieces', 'maxout_1/max_axes']);
    expect(attrs(rm)).toEqual({ keepdims: 0 });
    expect(g.initializer.find((t) => t.name === 'maxout_1/max_axes')!.int64Data).toEqual([2]);
  });
});
