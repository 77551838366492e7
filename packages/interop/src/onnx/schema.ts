/**
 * The ONNX schema, from `onnx-proto` 8.0.1: a `pbjs -t static-module` build of ONNX 1.10.2's
 * `onnx.proto3` (IR version 8), CommonJS, written for protobufjs 6. It ships generated encoders
 * and decoders only: no `.proto` file, no JSON descriptor and no reflection (`$type`), so there
 * is nothing to load into a protobufjs 8 `Root` short of reverse-engineering generated code.
 *
 * What does fit: every generated `encode(message, writer)` takes the writer to write into, and
 * protobufjs 8.8.1's `Writer` has the same method set (uint32, int32, int64, float, string,
 * bytes, fork, ldelim). So the schema (field numbers, wire types, packing) comes from
 * onnx-proto's code and the bytes are written by the project's protobufjs; `schema.test.ts`
 * checks they are byte-identical to onnx-proto's own protobufjs 6 writer. Loading onnx-proto
 * still loads its nested protobufjs 6.11.6 `minimal` runtime (its `require` resolves there,
 * since `^6.11.2` excludes 8), but nothing of it writes our output.
 */
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs';

// onnx-proto is CommonJS whose `module.exports` is the protobufjs root: a default import is
// the one form Node's ESM loader and TypeScript agree on.
export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** TensorProto.DataType values used here. */
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** The ModelProto's bytes, written by protobufjs 8 through onnx-proto's generated encoder. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  // The generated signature names protobufjs 6's Writer class, whose private layout differs
  // from 8's; only the public methods are called, so the cast is sound (schema.test.ts).
  const writer = protobuf.Writer.create() as unknown as Parameters<typeof onnx.ModelProto.encode>[1];
  return (onnx.ModelProto.encode(model, writer) as unknown as protobuf.Writer).finish();
}
