import { ModelLoadError } from './config.js';
import type { Tensor, TensorDtype } from './tensor.js';

const BYTES_PER_ELEMENT: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Largest header this parser accepts, as the Rust reference implementation does (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses a safetensors file: an 8-byte little-endian header length, a JSON
 * header mapping names to `{dtype, shape, data_offsets}`, then the tensor
 * bytes. F32, F16 and BF16 tensors are widened to float32. Throws
 * ModelLoadError for a header that lies about sizes or offsets.
 */
export function parseSafetensors(buffer: ArrayBuffer | Uint8Array, fileName = 'model.safetensors'): Map<string, Tensor> {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const fail = (message: string): never => {
    throw new ModelLoadError(`${fileName}: ${message}`);
  };

  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length; the file is truncated or not safetensors.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.byteLength) {
    fail(`header length ${headerLength} does not fit in a file of ${bytes.byteLength} bytes; the file is truncated or not safetensors.`);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message}); re-export the checkpoint with safetensors.`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header must be a JSON object.');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, Tensor>();
  const ranges: Array<[number, number, string]> = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (typeof entry !== 'object' || entry === null) fail(`tensor "${name}" has no {dtype, shape, data_offsets} entry.`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;

    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES_PER_ELEMENT, dtype)) {
      fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)}; convert the checkpoint to F32, F16 or BF16.`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${name}" has invalid shape ${JSON.stringify(shape)}; expected a list of non-negative integers.`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]
    ) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with begin <= end.`);
    }

    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expectedBytes = elements * BYTES_PER_ELEMENT[dtype as TensorDtype];
    if (end - begin !== expectedBytes) {
      fail(`tensor "${name}" spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expectedBytes}; the header is inconsistent.`);
    }
    if (end > dataLength) {
      fail(`tensor "${name}" ends at byte ${end} of the data section, past its end at ${dataLength}; the file is truncated.`);
    }
    ranges.push([begin, end, name]);
    tensors.set(name, {
      name,
      dtype: dtype as TensorDtype,
      shape: (shape as number[]).slice(),
      data: decode(bytes, dataStart + begin, elements, dtype as TensorDtype),
    });
  }

  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      fail(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap in the data section; the header is inconsistent.`);
    }
  }
  return tensors;
}

function decode(bytes: Uint8Array, start: number, elements: number, dtype: TensorDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, elements * BYTES_PER_ELEMENT[dtype]);
  const out = new Float32Array(elements);
  if (dtype === 'F32') {
    for (let i = 0; i < elements; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === 'F16') {
    for (let i = 0; i < elements; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const word = new Uint32Array(1);
    const asFloat = new Float32Array(word.buffer);
    for (let i = 0; i < elements; i++) {
      // bfloat16 is the upper half of a float32.
      word[0] = view.getUint16(2 * i, true) << 16;
      out[i] = asFloat[0];
    }
  }
  return out;
}

/** Converts IEEE 754 binary16 bits to a number, subnormals, infinities and NaN included. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Serializes tensors to a safetensors file, every tensor as little-endian F32
 * whatever dtype it was read from, because a Tensor contains float32 data.
 * Tensors are stored in the map's order. The JSON header is padded with spaces
 * to a multiple of 8 bytes, as the safetensors format recommends, so that the
 * data section starts aligned. Throws when a tensor's data length does not
 * match its shape.
 */
export function serializeSafetensors(tensors: ReadonlyMap<string, Tensor>): Uint8Array {
  const header: Record<string, { dtype: 'F32'; shape: number[]; data_offsets: [number, number] }> = {};
  let dataBytes = 0;
  for (const [name, tensor] of tensors) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== elements) {
      throw new Error(`tensor "${name}" has ${tensor.data.length} values but shape ${JSON.stringify(tensor.shape)} needs ${elements}; fix the shape or the data.`);
    }
    header[name] = { dtype: 'F32', shape: tensor.shape.slice(), data_offsets: [dataBytes, dataBytes + 4 * elements] };
    dataBytes += 4 * elements;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + dataBytes);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.byteLength, 8 + headerLength);

  let offset = 8 + headerLength;
  for (const tensor of tensors.values()) {
    for (let i = 0; i < tensor.data.length; i++) view.setFloat32(offset + 4 * i, tensor.data[i], true);
    offset += 4 * tensor.data.length;
  }
  return bytes;
}
