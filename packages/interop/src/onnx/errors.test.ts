import { describe, expect, it } from 'vitest';
import type { InteropModel, InteropWeight } from '../records.js';
import { toOnnx } from './index.js';

// Bad records: each a distinct error that names what is wrong, thrown before anything is written.

const w = (name: string, shape: number[]): InteropWeight =>
  ({ name, shape, data: new Float32Array(shape.reduce((p, d) => p * d, 1)) });

function good(): InteropModel {
  return {
    name: 'm', inputShape: [3],
    layers: [
      { className: 'Dense', config: { name: 'dense_1', units: 4, activation: 'relu', useBias: true } },
      { className: 'Maxout', config: { name: 'maxout_1', units: 2, pieces: 2 } },
    ],
    weights: [w('dense_1/kernel', [3, 4]), w('dense_1/bias', [4]), w('maxout_1/kernel', [4, 4]), w('maxout_1/bias', [4])],
  };
}
function withLayer(i: number, className: string, config: Record<string, unknown>): InteropModel {
  const m = good();
  m.layers[i] = { className, config };
  return m;
}

describe('toOnnx refuses', () => {
  it('accepts the baseline model', () => {
    expect(toOnnx(good()).length).toBeGreaterThan(0);
  });

  it('a layer class ONNX export does not support, naming the layer and listing the supported ones', () => {
    expect(() => toOnnx(withLayer(1, 'Conv3D', { name: 'conv3d_1', filters: 8 }))).toThrow(
      `toOnnx: layer 'conv3d_1' (model.layers[1]) is a "Conv3D" layer, which ONNX export does not support. Supported: Dense, Activation, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, Dropout, Flatten, Maxout`,
    );
  });

  it('an activation ONNX export does not support, in a Dense or an Activation layer', () => {
    const supported = 'Supported: linear, sigmoid, tanh, relu, leaky_relu, elu, softmax';
    expect(() => toOnnx(withLayer(0, 'Dense', { name: 'dense_1', units: 4, activation: 'gelu' }))).toThrow(
      `toOnnx: layer 'dense_1' has activation "gelu", which ONNX export does not support. ${supported}`,
    );
    const m = good();
    m.layers.push({ className: 'Activation', config: { name: 'act', activation: 'swish' } });
    expect(() => toOnnx(m)).toThrow(`layer 'act' has activation "swish"`);
    // Names are looked up as own keys: nothing inherited passes for an activation.
    expect(() => toOnnx(withLayer(0, 'Dense', { name: 'dense_1', units: 4, activation: 'toString' }))).toThrow('"toString"');
    m.layers[2] = { className: 'Activation', config: { name: 'act' } };
    expect(() => toOnnx(m)).toThrow(`layer 'act' (Activation) has no activation`);
  });

  it('a weight whose shape does not fit the layer', () => {
    const m = good();
    m.weights[2] = w('maxout_1/kernel', [4, 2]);
    expect(() => toOnnx(m)).toThrow(`toOnnx: weight 'maxout_1/kernel' has shape [4, 2], but layer 'maxout_1' needs [4, 4]`);
  });

  it('weight data that does not match its shape', () => {
    const m = good();
    m.weights[1] = { name: 'dense_1/bias', shape: [4], data: new Float32Array(3) };
    expect(() => toOnnx(m)).toThrow(`toOnnx: weight 'dense_1/bias' [4] needs a Float32Array of 4 values, got 3 values`);
    m.weights[1] = { name: 'dense_1/bias', shape: [4], data: [0, 0, 0, 0] as unknown as Float32Array };
    expect(() => toOnnx(m)).toThrow(`got no Float32Array`);
  });

  it('a missing weight, a misnamed or misordered one, and one no layer uses', () => {
    const m = good();
    m.weights.pop();
    expect(() => toOnnx(m)).toThrow(`toOnnx: layer 'maxout_1' needs weight 'maxout_1/bias' [4], but model.weights has only 3`);
    const swapped = good();
    [swapped.weights[0], swapped.weights[1]] = [swapped.weights[1]!, swapped.weights[0]!];
    expect(() => toOnnx(swapped)).toThrow(`toOnnx: model.weights[0] is "dense_1/bias", expected 'dense_1/kernel' (weights go in layer order: kernel, then bias)`);
    const extra = good();
    extra.weights.push(w('ghost/kernel', [1]));
    expect(() => toOnnx(extra)).toThrow(`toOnnx: model.weights has 1 weight(s) no layer uses: 'ghost/kernel'`);
    const noBias = withLayer(0, 'Dense', { name: 'dense_1', units: 4, activation: 'relu', useBias: false });
    expect(() => toOnnx(noBias)).toThrow(`model.weights[1] is "dense_1/bias", expected 'maxout_1/kernel'`);
  });

  it('bad layer configs, naming the layer and the key', () => {
    expect(() => toOnnx(withLayer(0, 'Dense', { name: 'dense_1', units: 0 }))).toThrow(`toOnnx: layer 'dense_1': units must be a positive integer, got 0`);
    expect(() => toOnnx(withLayer(1, 'Maxout', { name: 'maxout_1', units: 2, pieces: 1.5 }))).toThrow(`layer 'maxout_1': pieces must be a positive integer, got 1.5`);
    expect(() => toOnnx(withLayer(0, 'Dense', { name: 'dense_1', units: 4, useBias: 'yes' }))).toThrow(`layer 'dense_1': useBias must be true or false`);
    expect(() => toOnnx(withLayer(0, 'Dense', { name: 'dense_1', units: 4, activation: 'elu', alpha: NaN }))).toThrow(`layer 'dense_1': alpha must be a finite number, got null`);
    expect(() => toOnnx(withLayer(0, 'Dense', { units: 4 }))).toThrow(`toOnnx: model.layers[0] ("Dense") needs config.name, a non-empty string`);
    expect(() => toOnnx(withLayer(1, 'Dropout', { name: 'dense_1' }))).toThrow(`toOnnx: two layers are named 'dense_1'`);
  });

  it('a bad model record or options', () => {
    expect(() => toOnnx({ ...good(), inputShape: [] })).toThrow('toOnnx: model.inputShape must be a non-empty list of positive integers');
    expect(() => toOnnx({ ...good(), inputShape: [3, -1] })).toThrow('got [3,-1]');
    expect(() => toOnnx(null as unknown as InteropModel)).toThrow('toOnnx: model must be an InteropModel record');
    expect(() => toOnnx(good(), { opset: 12 })).toThrow('toOnnx: opset must be one of 13, 14, 15, 16, 17, 18, got 12');
    expect(() => toOnnx(good(), { opset: 19 })).toThrow('got 19');
    expect(() => toOnnx(good(), { producerName: 7 as unknown as string })).toThrow('toOnnx: producerName must be a string, got number');
  });

  // Tensor names are `<layer>/<suffix>` with no '/' in the suffix, and layer names are unique,
  // so layer names that look like tensor names cannot make two tensors share a name.
  it('nothing for layer names that look like the tensor names it makes', () => {
    const m: InteropModel = {
      name: 'm', inputShape: [2],
      layers: [{ className: 'Dense', config: { name: 'd', units: 2 } }, { className: 'Activation', config: { name: 'd/gemm', activation: 'relu' } }],
      weights: [w('d/kernel', [2, 2]), w('d/bias', [2])],
    };
    expect(toOnnx(m).length).toBeGreaterThan(0);
    const clash: InteropModel = {
      name: 'm', inputShape: [2],
      layers: [{ className: 'Flatten', config: { name: 'x' } }, { className: 'Dense', config: { name: 'x/flatten', units: 2 } }],
      weights: [w('x/flatten/kernel', [2, 2]), w('x/flatten/bias', [2])],
    };
    expect(toOnnx(clash).length).toBeGreaterThan(0);
  });
});
