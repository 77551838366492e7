import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { InteropModel } from '../records.js';
import { toOnnx } from './index.js';
import { onnx } from './schema.js';

// The finding README-onnx.md reports: onnx-proto's generated encoders (built for protobufjs 6)
// write through protobufjs 8.8.1's Writer, and the bytes match its own protobufjs 6 writer's.

const model: InteropModel = {
  name: 'm', inputShape: [3],
  layers: [
    { className: 'Dense', config: { name: 'd', units: 4, activation: 'leaky_relu' } },
    { className: 'Maxout', config: { name: 'mx', units: 2, pieces: 2 } },
  ],
  weights: [
    { name: 'd/kernel', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 12 - 0.3) },
    { name: 'd/bias', shape: [4], data: new Float32Array([0.1, -0.2, 0.3, -0.4]) },
    { name: 'mx/kernel', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)) },
    { name: 'mx/bias', shape: [4], data: new Float32Array(4) },
  ],
};

describe('onnx-proto with protobufjs 8', () => {
  it('is a protobufjs 6 static module: no reflection to load into a protobufjs 8 Root', () => {
    const require = createRequire(import.meta.url);
    const nested = require(require.resolve('protobufjs/package.json', { paths: [require.resolve('onnx-proto')] })) as { version: string };
    expect(nested.version).toMatch(/^6\./);
    expect((onnx.ModelProto as unknown as { $type?: unknown }).$type).toBeUndefined();
  });

  for (const opset of [13, 18]) {
    it(`writes byte-identical output through protobufjs 8's Writer and through its own (opset ${opset})`, () => {
      const bytes = toOnnx(model, { opset });
      const decoded = onnx.ModelProto.decode(bytes);
      // Re-encode the decoded message with onnx-proto's default writer (protobufjs 6).
      const again = onnx.ModelProto.encode(decoded).finish();
      expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      expect(bytes).toBeInstanceOf(Uint8Array);
    });
  }
});
