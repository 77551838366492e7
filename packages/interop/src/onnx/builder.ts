import { INT64, FLOAT, onnx, type AttributeProto, type NodeProto, type TensorProto } from './schema.js';

/** An attribute value: a float, an int, or a list of ints (all this exporter needs). */
export type AttributeValue = { f: number } | { i: number } | { ints: number[] };

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Collects the nodes and initializers of one graph in order. Every tensor name is registered
 * once: ONNX requires each to be produced by one node or initializer, and a clash between a
 * Loom weight name and a name made here is an error, never a silently rewired graph.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  /** Image tensors held channels first ([n, c, h, w]); every other tensor is in Loom's NHWC order. */
  private readonly channelsFirst = new Set<string>();

  constructor(readonly opset: number, inputName: string) {
    this.names.add(inputName);
  }

  /** Adds a node producing one tensor called `output`; returns that name. */
  node(opType: string, name: string, inputs: string[], output: string, attributes: Record<string, AttributeValue> = {}): string {
    this.claim(output);
    const attribute: AttributeProto[] = Object.entries(attributes).map(([key, v]) => attributeOf(key, v));
    this.nodes.push({ name, opType, input: inputs, output: [output], attribute });
    return output;
  }

  /** A float32 initializer, stored as little-endian `raw_data` (one copy, no per-element writes). */
  floatInitializer(name: string, dims: number[], data: Float32Array): string {
    this.claim(name);
    this.initializers.push({ name, dataType: FLOAT, dims, rawData: float32ToLeBytes(data) });
    return name;
  }

  /** An int64 initializer (a shape or an axes list). */
  int64Initializer(name: string, values: number[]): string {
    this.claim(name);
    this.initializers.push({ name, dataType: INT64, dims: [values.length], int64Data: values });
    return name;
  }

  /** Whether image tensor `name` is held NCHW (the order of ONNX's Conv and poolings). */
  isNchw(name: string): boolean {
    return this.channelsFirst.has(name);
  }

  /** Marks tensor `name` as NCHW; returns the name. */
  markNchw(name: string): string {
    this.channelsFirst.add(name);
    return name;
  }

  /** Renames the tensor `from` (the last node's output) to `to`. */
  renameOutput(from: string, to: string): void {
    const producer = this.nodes.find((n) => n.output?.[0] === from);
    if (!producer) throw new Error(`internal: no node produces '${from}'`);
    this.claim(to);
    producer.output = [to];
    if (this.channelsFirst.delete(from)) this.channelsFirst.add(to);
    for (const n of this.nodes) n.input = n.input?.map((i) => (i === from ? to : i)) ?? [];
  }

  private claim(name: string): void {
    if (this.names.has(name)) {
      throw new Error(`toOnnx: the tensor name '${name}' is used twice (rename the layer or weight that makes it)`);
    }
    this.names.add(name);
  }
}

function attributeOf(name: string, v: AttributeValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('i' in v) return { name, type: T.INT, i: v.i };
  return { name, type: T.INTS, ints: v.ints };
}

function float32ToLeBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}
