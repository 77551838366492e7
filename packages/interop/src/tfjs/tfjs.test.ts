import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InteropModel } from '../records.js';
import { InteropError, type InteropErrorKind } from './errors.js';
import { toTfjsLayers } from './export.js';
import { readTfjsModel, writeTfjsModel } from './files.js';
import { fromTfjsLayers } from './import.js';

const tmp = mkdtempSync(join(tmpdir(), 'loom-interop-tfjs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic, non-trivial float32 values (including negatives, tiny and huge magnitudes). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) - 0.5) * (i % 7 === 0 ? 1e-30 : i % 11 === 0 ? 1e30 : 1);
  }
  return out;
}

function dense(name: string, units: number, activation: string, extra: Record<string, unknown> = {}): InteropModel['layers'][number] {
  return { className: 'Dense', config: { name, units, activation, useBias: true, kernelInitializer: 'glorot_uniform', biasInitializer: 'zeros', ...extra } };
}

/** A model with every activation, both leaky_relu forms, dropout, flatten and a bias-less Dense. */
function everyActivation(): InteropModel {
  const shapes: [string, number[]][] = [];
  const layers: InteropModel['layers'] = [
    { className: 'Flatten', config: { name: 'flatten_1', inputShape: [4, 3] } },
    dense('dense_1', 8, 'relu', { kernelInitializer: 'he_normal' }),
    dense('dense_2', 8, 'sigmoid'),
    { className: 'Dropout', config: { name: 'dropout_1', rate: 0.25 } },
    dense('dense_3', 8, 'tanh', { biasInitializer: 'ones' }),
    dense('dense_4', 8, 'elu'),
    dense('dense_5', 8, 'leaky_relu'),
    dense('dense_6', 8, 'leaky_relu', { alpha: 0.2 }),
    { className: 'Dense', config: { name: 'dense_7', units: 6, activation: 'linear', useBias: false, kernelInitializer: 'lecun_uniform', biasInitializer: 'zeros' } },
    { className: 'Activation', config: { name: 'activation_1', activation: 'leaky_relu' } },
    { className: 'Activation', config: { name: 'activation_2', activation: 'tanh' } },
    dense('dense_8', 5, 'softmax'),
  ];
  let inSize = 12;
  for (const l of layers) {
    if (l.className !== 'Dense') continue;
    const units = l.config.units as number;
    shapes.push([`${String(l.config.name)}/kernel`, [inSize, units]]);
    if (l.config.useBias) shapes.push([`${String(l.config.name)}/bias`, [units]]);
    inSize = units;
  }
  return {
    name: 'every_activation', inputShape: [4, 3], layers,
    weights: shapes.map(([name, shape], i) => ({ name, shape, data: values(shape.reduce((p, d) => p * d, 1), i + 1) })),
  };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function fromArtifacts(a: ReturnType<typeof toTfjsLayers>): Promise<InteropModel> {
  const files = new Map(a.shards.map((s) => [s.name, s.bytes]));
  return fromTfjsLayers(JSON.parse(JSON.stringify(a.modelJson)), (p) => {
    const b = files.get(p);
    if (!b) throw new Error(`no file ${p}`);
    return b;
  });
}

describe('toTfjsLayers', () => {
  it('writes a Keras Sequential topology with snake_case keys, batch_input_shape, and tfjs weight names', () => {
    const { modelJson, shards } = toTfjsLayers(everyActivation());
    expect(modelJson.format).toBe('layers-model');
    const topo = modelJson.modelTopology;
    expect(topo).toMatchObject({ class_name: 'Sequential', backend: 'tensor_flow.js', config: { name: 'every_activation' } });
    expect(topo.keras_version).toMatch(/^tfjs-layers /);
    const classes = topo.config.layers.map((l) => l.class_name);
    expect(classes).toEqual(['Flatten', 'Dense', 'Dense', 'Dropout', 'Dense', 'Dense', 'Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Activation', 'Dense']);
    expect(topo.config.layers[0]!.config).toMatchObject({ batch_input_shape: [null, 4, 3], dtype: 'float32', name: 'flatten_1' });
    expect(topo.config.layers[1]!.config).toMatchObject({
      units: 8, activation: 'relu', use_bias: true, name: 'dense_1',
      kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'normal' } },
      bias_initializer: { class_name: 'Zeros', config: {} },
    });
    expect(topo.config.layers[6]!.config).toMatchObject({ name: 'dense_5', activation: 'linear' });
    expect(topo.config.layers[7]!.config).toMatchObject({ name: 'dense_5_leaky_relu', alpha: 0.1 });
    expect(topo.config.layers[9]!.config).toMatchObject({ alpha: 0.2 });
    expect(topo.config.layers[11]!.config).toMatchObject({ name: 'activation_1', alpha: 0.1 });
    expect(modelJson.weightsManifest).toHaveLength(1);
    expect(modelJson.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(everyActivation().weights.map((w) => w.name));
    expect(modelJson.weightsManifest[0]!.weights.every((w) => w.dtype === 'float32')).toBe(true);
    expect(shards.map((s) => s.name)).toEqual(['group1-shard1of1.bin']);
  });

  it('cuts shards at shardBytes (4 MB by default, never more), a weight spanning two files', () => {
    const big: InteropModel = {
      name: 'big', inputShape: [1100], layers: [dense('dense_1', 1000, 'relu', { inputShape: [1100] })],
      weights: [{ name: 'dense_1/kernel', shape: [1100, 1000], data: values(1_100_000, 3) }, { name: 'dense_1/bias', shape: [1000], data: values(1000, 4) }],
    };
    const { modelJson, shards } = toTfjsLayers(big);
    expect(shards.map((s) => s.name)).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    expect(shards[0]!.bytes.length).toBe(4 * 1024 * 1024);
    expect(shards[1]!.bytes.length).toBe(4_404_000 - 4 * 1024 * 1024);
    expect(modelJson.weightsManifest[0]!.paths).toEqual(shards.map((s) => s.name));
    expect(() => toTfjsLayers(big, { shardBytes: 8 * 1024 * 1024 })).toThrow(/shardBytes/);
  });

  it('refuses Maxout and elu with another alpha, by name', () => {
    const maxout: InteropModel = { name: 'm', inputShape: [3], layers: [{ className: 'Maxout', config: { name: 'maxout_1', units: 2, pieces: 3 } }], weights: [] };
    expect(() => toTfjsLayers(maxout)).toThrow(/'maxout_1' \(Maxout\) has no TensorFlow\.js Layers equivalent; exported layers: Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, Activation, Dropout, Flatten/);
    expect(kindOf(() => toTfjsLayers(maxout))).toBe('unsupported-layer');
    const elu: InteropModel = { name: 'e', inputShape: [3], layers: [dense('dense_1', 2, 'elu', { alpha: 0.5 })], weights: [] };
    expect(() => toTfjsLayers(elu)).toThrow(/'dense_1': elu with alpha 0\.5/);
  });
});

function kindOf(fn: () => unknown): InteropErrorKind | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof InteropError ? e.kind : undefined;
  }
  return undefined;
}

async function rejection(p: Promise<unknown>): Promise<InteropError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InteropError);
    return e as InteropError;
  }
  throw new Error('expected a rejection');
}

describe('round trip InteropModel → TensorFlow.js → InteropModel', () => {
  it('gives back the same layers and the same weight bits, through memory and through files', async () => {
    const model = everyActivation();
    const back = await fromArtifacts(toTfjsLayers(model, { shardBytes: 100 }));
    expect(back.name).toBe(model.name);
    expect(back.inputShape).toEqual(model.inputShape);
    expect(back.layers).toEqual(model.layers);
    expect(back.weights.map((w) => [w.name, w.shape])).toEqual(model.weights.map((w) => [w.name, w.shape]));
    model.weights.forEach((w, i) => expect(sameBits(back.weights[i]!.data, w.data), w.name).toBe(true));

    const dir = join(tmp, 'round-trip');
    const path = await writeTfjsModel(dir, model, { shardBytes: 1000 });
    expect(path).toBe(join(dir, 'model.json'));
    const fromDisk = await readTfjsModel(dir);
    expect(fromDisk.layers).toEqual(model.layers);
    model.weights.forEach((w, i) => expect(sameBits(fromDisk.weights[i]!.data, w.data), w.name).toBe(true));
    // A second, smaller export into the same folder removes the shards it no longer names.
    await writeTfjsModel(dir, model);
    expect(readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  });
});

describe('fromTfjsLayers and readTfjsModel: bad input, each a distinct error, checked before allocating', () => {
  const small: InteropModel = {
    name: 'small', inputShape: [3], layers: [dense('dense_1', 2, 'relu', { inputShape: [3] }), dense('dense_2', 2, 'softmax')],
    weights: [
      { name: 'dense_1/kernel', shape: [3, 2], data: values(6, 1) }, { name: 'dense_1/bias', shape: [2], data: values(2, 2) },
      { name: 'dense_2/kernel', shape: [2, 2], data: values(4, 3) }, { name: 'dense_2/bias', shape: [2], data: values(2, 4) },
    ],
  };
  let n = 0;
  async function folder(edit: (json: any, dir: string) => void = () => {}): Promise<string> {
    const dir = join(tmp, `bad-${++n}`);
    await writeTfjsModel(dir, small);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    edit(json, dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    return dir;
  }

  it('reads the unedited folder (the control)', async () => {
    expect((await readTfjsModel(await folder())).layers).toEqual(small.layers);
  });

  it('a path that does not exist', async () => {
    const e = await rejection(readTfjsModel(join(tmp, 'nowhere', 'model.json')));
    expect(e.kind).toBe('missing');
    expect(e.message).toMatch(/nowhere.*no such file or folder/);
  });

  it('invalid JSON', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": ');
    const e = await rejection(readTfjsModel(join(dir, 'model.json')));
    expect(e.kind).toBe('invalid-json');
    expect(e.message).toMatch(/not valid JSON/);
  });

  it('a missing shard', async () => {
    const dir = await folder();
    rmSync(join(dir, 'group1-shard1of1.bin'));
    const e = await rejection(readTfjsModel(dir));
    expect(e.kind).toBe('missing-shard');
    expect(e.message).toMatch(/weight file group1-shard1of1\.bin is missing/);
  });

  it('a shard shorter than its manifest', async () => {
    const dir = await folder();
    const p = join(dir, 'group1-shard1of1.bin');
    writeFileSync(p, readFileSync(p).subarray(0, 50));
    const e = await rejection(readTfjsModel(dir));
    expect(e.kind).toBe('truncated-shard');
    expect(e.message).toMatch(/hold 50 bytes, but the manifest needs 56/);
  });

  it('a weight whose shape does not fit its layer', async () => {
    const dir = await folder((j) => { j.weightsManifest[0].weights[2].shape = [3, 2]; });
    const e = await rejection(readTfjsModel(dir));
    expect(e.kind).toBe('shape-mismatch');
    expect(e.message).toMatch(/weight 'dense_2\/kernel' has shape \[3, 2\], but its layer needs \[2, 2\]/);
  });

  it('an unknown class name, refused by name with the supported list', async () => {
    const dir = await folder((j) => { j.modelTopology.config.layers[1].class_name = 'Conv3DTranspose'; });
    const e = await rejection(readTfjsModel(dir));
    expect(e.kind).toBe('unsupported-layer');
    expect(e.message).toMatch(/layer 'dense_2' is a Conv3DTranspose, which Loom cannot read; supported: InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, Activation, LeakyReLU, ELU, Dropout, Flatten/);
  });

  it('a manifest that claims a 10^12-element weight: refused from the manifest, no shard read, nothing allocated', async () => {
    const dir = await folder((j) => { j.weightsManifest[0].weights[0].shape = [1_000_000, 1_000_000]; });
    const before = process.memoryUsage().arrayBuffers;
    const e = await rejection(readTfjsModel(dir));
    expect(e.kind).toBe('too-large');
    expect(e.message).toMatch(/dense_1\/kernel' claims shape \[1000000, 1000000\] \(1\.00e\+12 values\)/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    let reads = 0;
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    await rejection(fromTfjsLayers(json, () => { reads++; return new Uint8Array(0); }));
    expect(reads).toBe(0);
  });

  it('other malformed manifests: a shard path outside the folder, a non-float32 weight, a regularizer, an activation Loom lacks', async () => {
    const cases: [(j: any) => void, InteropErrorKind, RegExp][] = [
      [(j) => { j.weightsManifest[0].paths = ['../../etc/passwd']; }, 'invalid', /outside the model's folder/],
      [(j) => { j.weightsManifest[0].weights[0].dtype = 'int32'; }, 'unsupported', /dense_1\/kernel' is int32/],
      [(j) => { j.modelTopology.config.layers[0].config.kernel_regularizer = { class_name: 'L1L2', config: {} }; }, 'unsupported', /kernel_regularizer/],
      [(j) => { j.modelTopology.config.layers[0].config.activation = 'selu'; }, 'unsupported', /activation "selu" is not one Loom has/],
      [(j) => { delete j.modelTopology.config.layers[0].config.batch_input_shape; }, 'invalid', /no batch_input_shape/],
      [(j) => { j.modelTopology.class_name = 'Functional'; }, 'unsupported', /Sequential models only/],
    ];
    for (const [edit, kind, pattern] of cases) {
      const e = await rejection(readTfjsModel(await folder(edit)));
      expect(e.kind, pattern.source).toBe(kind);
      expect(e.message).toMatch(pattern);
    }
  });

  it('reads an InputLayer first, as Keras writes it, and a standalone LeakyReLU as an Activation', async () => {
    const dir = await folder((j) => {
      const layers = j.modelTopology.config.layers;
      delete layers[0].config.batch_input_shape;
      layers.unshift({ class_name: 'InputLayer', config: { batch_input_shape: [null, 3], dtype: 'float32', name: 'input_1' } });
      layers.push({ class_name: 'LeakyReLU', config: { name: 'lrelu' } });
    });
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const m = await readTfjsModel(dir);
    expect(m.inputShape).toEqual([3]);
    expect(m.layers.map((l) => l.className)).toEqual(['Dense', 'Dense', 'Activation']);
    expect(m.layers[2]!.config).toEqual({ name: 'lrelu', activation: 'leaky_relu', alpha: 0.3 });
  });
});
