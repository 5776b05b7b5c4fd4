/** Reading the external-data file names out of an ONNX model's protobuf bytes (initializers, node attributes, subgraphs). */
import { externalDataLocations } from '../../src/inference/onnx-external-data';

/** Minimal protobuf encoding: varints and length-delimited fields. */
function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}
const field = (number: number, payload: Uint8Array | string): Uint8Array => {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Uint8Array.from([...varint(number * 8 + 2), ...varint(bytes.length), ...bytes]);
};
const varintField = (number: number, value: number): Uint8Array => Uint8Array.from([...varint(number * 8), ...varint(value)]);
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** TensorProto { name: 8, external_data: 13 [{key: 1, value: 2}], data_location: 14 }. */
function externalTensor(name: string, location: string): Uint8Array {
  const entry = (key: string, value: string) => field(13, concat(field(1, key), field(2, value)));
  return concat(field(8, name), entry('location', location), entry('offset', '0'), entry('length', '64'), varintField(14, 1));
}

describe('external-data locations of an ONNX model', () => {
  it('finds initializers, node attribute tensors and tensors inside subgraphs, each file once', () => {
    const subgraph = field(5, externalTensor('inner', 'branch.bin')); // GraphProto.initializer
    const ifNode = field(1, concat(field(1, 'cond'), field(5, concat(field(1, 'then_branch'), field(6, subgraph))))); // NodeProto.attribute.g
    const constantNode = field(1, field(5, concat(field(1, 'value'), field(5, externalTensor('c', 'weights.bin'))))); // attribute.t
    const graph = concat(ifNode, constantNode, field(5, externalTensor('w1', 'weights.bin')), field(5, field(8, 'inline')));
    const model = concat(varintField(1, 8), field(7, graph), field(8, concat(field(1, ''), varintField(2, 17)))); // ir_version, graph, opset_import
    expect(externalDataLocations(model).sort()).toEqual(['branch.bin', 'weights.bin']);
  });

  it('finds none in a model with inline weights, and refuses truncated bytes', () => {
    const model = concat(varintField(1, 8), field(7, field(5, field(8, 'inline'))));
    expect(externalDataLocations(model)).toEqual([]);
    expect(() => externalDataLocations(model.subarray(0, model.length - 3))).toThrow(/truncated/);
  });
});
