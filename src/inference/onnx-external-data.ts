/**
 * Lists the external-data files an ONNX model names (TensorProto.external_data "location"),
 * so the package reader can insist that every file onnxruntime will read is checksummed in the
 * manifest. A minimal protobuf walk over the fields that can hold tensors: the graph's
 * initializers and sparse initializers, and node attributes (tensors and subgraphs).
 */

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_TENSOR = 5;
const ATTRIBUTE_GRAPH = 6;
const ATTRIBUTE_TENSORS = 10;
const ATTRIBUTE_GRAPHS = 11;
const SPARSE_VALUES = 1;
const SPARSE_INDICES = 2;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** The distinct `location` values of every external tensor in the model. */
export function externalDataLocations(model: Uint8Array): string[] {
  const locations = new Set<string>();
  for (const graph of fields(model, MODEL_GRAPH)) scanGraph(graph, locations, 0);
  return [...locations];
}

function scanGraph(graph: Uint8Array, out: Set<string>, depth: number): void {
  if (depth > 32) throw new Error('ONNX subgraphs nested too deeply');
  for (const tensor of fields(graph, GRAPH_INITIALIZER)) scanTensor(tensor, out);
  for (const sparse of fields(graph, GRAPH_SPARSE_INITIALIZER)) {
    for (const tensor of [...fields(sparse, SPARSE_VALUES), ...fields(sparse, SPARSE_INDICES)]) scanTensor(tensor, out);
  }
  for (const node of fields(graph, GRAPH_NODE)) {
    for (const attribute of fields(node, NODE_ATTRIBUTE)) {
      for (const tensor of [...fields(attribute, ATTRIBUTE_TENSOR), ...fields(attribute, ATTRIBUTE_TENSORS)]) scanTensor(tensor, out);
      for (const sub of [...fields(attribute, ATTRIBUTE_GRAPH), ...fields(attribute, ATTRIBUTE_GRAPHS)]) scanGraph(sub, out, depth + 1);
    }
  }
}

function scanTensor(tensor: Uint8Array, out: Set<string>): void {
  for (const entry of fields(tensor, TENSOR_EXTERNAL_DATA)) {
    const key = fields(entry, ENTRY_KEY)[0];
    const value = fields(entry, ENTRY_VALUE)[0];
    if (key !== undefined && value !== undefined && Buffer.from(key).toString('utf8') === 'location')
      out.add(Buffer.from(value).toString('utf8'));
  }
}

/** The payloads of the length-delimited occurrences of field `wanted` in one message. */
function fields(message: Uint8Array, wanted: number): Uint8Array[] {
  const found: Uint8Array[] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= message.length) throw new Error('truncated protobuf varint');
      const byte = message[at++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new Error('malformed protobuf varint');
  };
  while (at < message.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (at + length > message.length) throw new Error('truncated protobuf field');
      if (field === wanted) found.push(message.subarray(at, at + length));
      at += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  if (at > message.length) throw new Error('truncated protobuf message');
  return found;
}
