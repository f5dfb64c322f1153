import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../src/model/config.js';
import { halfToFloat, parseSafetensors } from '../src/model/safetensors.js';

const modelsDir = fileURLToPath(new URL('../../shared/models/', import.meta.url));

/** Builds a safetensors file: 8-byte little-endian header length, JSON header, data section. */
function buildFile(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + data.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  file.set(json, 8);
  file.set(data, 8 + json.length);
  return file;
}

function uint16Bytes(values: number[]): Uint8Array {
  const bytes = new Uint8Array(2 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return bytes;
}

function float32Bytes(values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return bytes;
}

/** Builds a one-tensor file whose header entry is `entry`, with `dataBytes` zero bytes of data. */
function oneTensor(entry: unknown, dataBytes: number): Uint8Array {
  return buildFile({ w: entry }, new Uint8Array(dataBytes));
}

function parseError(file: Uint8Array): Error {
  try {
    parseSafetensors(file, 'test.safetensors');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/^test\.safetensors: /);
    return error as Error;
  }
  throw new Error('parseSafetensors accepted an invalid file');
}

/** Expects every element to be the same number as `expected`, bit for bit where that matters (NaN, -0). */
function expectSameValues(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => {
    expect(Object.is(actual[i], value), `element ${i}: got ${actual[i]}, expected ${value}`).toBe(true);
  });
}

describe('parseSafetensors dtypes', () => {
  it('decodes F32 exactly', () => {
    const values = [1.5, -0, 3.4028234663852886e38, 1.401298464324817e-45, NaN, -Infinity, Math.fround(0.1)];
    const file = buildFile(
      { __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [7], data_offsets: [0, 28] } },
      float32Bytes(values),
    );
    const tensors = parseSafetensors(file);
    expect([...tensors.keys()]).toEqual(['w']);
    const tensor = tensors.get('w')!;
    expect(tensor.dtype).toBe('F32');
    expect(tensor.shape).toEqual([7]);
    expectSameValues(tensor.data, values);
  });

  it('decodes F16 normals, subnormals, infinities, NaN and -0', () => {
    // Bit patterns and their binary16 values, worked out by hand from the IEEE 754 layout.
    const cases: Array<[number, number]> = [
      [0x0000, 0],
      [0x8000, -0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x0001, 2 ** -24],
      [0x8001, -(2 ** -24)],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x7bff, 65504],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x7e00, NaN],
      [0x7c01, NaN],
    ];
    const file = buildFile(
      { w: { dtype: 'F16', shape: [2, 7], data_offsets: [0, 28] } },
      uint16Bytes(cases.map(([bits]) => bits)),
    );
    const tensor = parseSafetensors(file).get('w')!;
    expect(tensor.dtype).toBe('F16');
    expect(tensor.shape).toEqual([2, 7]);
    expectSameValues(tensor.data, cases.map(([, value]) => value));
  });

  it('halfToFloat matches the F16 table', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x0001)).toBe(5.960464477539063e-8);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0xfe00)).toBeNaN();
  });

  it('decodes BF16 as the upper half of float32', () => {
    const cases: Array<[number, number]> = [
      [0x3f80, 1],
      [0xc040, -3],
      [0x4049, 3.140625],
      [0x8000, -0],
      [0x0001, 2 ** -133],
      [0x7f7f, 3.3895313892515355e38],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x7fc0, NaN],
    ];
    const file = buildFile(
      { w: { dtype: 'BF16', shape: [3, 3], data_offsets: [0, 18] } },
      uint16Bytes(cases.map(([bits]) => bits)),
    );
    const tensor = parseSafetensors(file).get('w')!;
    expect(tensor.dtype).toBe('BF16');
    expectSameValues(tensor.data, cases.map(([, value]) => value));
  });

  it('reads several tensors at unaligned offsets', () => {
    // An F16 tensor of 3 elements leaves the F32 tensor after it at byte 6, not a multiple of 4.
    const data = new Uint8Array(6 + 8);
    data.set(uint16Bytes([0x3c00, 0x4000, 0x4200]), 0);
    data.set(float32Bytes([0.25, -8]), 6);
    const file = buildFile(
      {
        a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        b: { dtype: 'F32', shape: [1, 2], data_offsets: [6, 14] },
        empty: { dtype: 'F32', shape: [0, 4], data_offsets: [14, 14] },
      },
      data,
    );
    const tensors = parseSafetensors(file);
    expect(tensors.size).toBe(3);
    expectSameValues(tensors.get('a')!.data, [1, 2, 3]);
    expectSameValues(tensors.get('b')!.data, [0.25, -8]);
    expect(tensors.get('empty')!.data.length).toBe(0);
  });

  it('accepts a Uint8Array view into a larger buffer', () => {
    const file = buildFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, float32Bytes([7]));
    const padded = new Uint8Array(file.length + 5);
    padded.set(file, 3);
    const tensor = parseSafetensors(padded.subarray(3, 3 + file.length)).get('w')!;
    expectSameValues(tensor.data, [7]);
  });
});

describe('parseSafetensors invalid files', () => {
  it('rejects a file shorter than 8 bytes', () => {
    expect(parseError(new Uint8Array(5)).message).toContain('5 bytes');
  });

  it('rejects a header length past the end', () => {
    const file = buildFile({}, new Uint8Array(0), 1000);
    expect(parseError(file).message).toContain('header length 1000');
  });

  it('rejects a huge header length', () => {
    const file = new Uint8Array(16);
    new DataView(file.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(parseError(file).message).toContain('header length');
  });

  it('rejects invalid JSON', () => {
    const file = buildFile('{"w": {"dtype": "F32",', new Uint8Array(0));
    expect(parseError(file).message).toContain('not valid UTF-8 JSON');
  });

  it('rejects a header that is not an object', () => {
    const file = buildFile('[1, 2]', new Uint8Array(0));
    expect(parseError(file).message).toContain('JSON object');
  });

  it('rejects an unsupported dtype', () => {
    const message = parseError(oneTensor({ dtype: 'I64', shape: [2], data_offsets: [0, 16] }, 16)).message;
    expect(message).toContain('"w"');
    expect(message).toContain('"I64"');
  });

  it('rejects a dtype named after an Object property', () => {
    const message = parseError(oneTensor({ dtype: 'toString', shape: [2], data_offsets: [0, 8] }, 8)).message;
    expect(message).toContain('unsupported dtype "toString"');
  });

  it('rejects an invalid shape', () => {
    const message = parseError(oneTensor({ dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] }, 8)).message;
    expect(message).toContain('"w"');
    expect(message).toContain('[2,-1]');
  });

  it('rejects reversed data_offsets', () => {
    const message = parseError(oneTensor({ dtype: 'F32', shape: [0], data_offsets: [8, 4] }, 8)).message;
    expect(message).toContain('[8,4]');
  });

  it('rejects a shape and offsets that disagree', () => {
    const message = parseError(oneTensor({ dtype: 'F16', shape: [2, 3], data_offsets: [0, 16] }, 16)).message;
    expect(message).toContain('"w"');
    expect(message).toContain('16 bytes');
    expect(message).toContain('needs 12');
  });

  it('rejects offsets past the end of the data', () => {
    const message = parseError(oneTensor({ dtype: 'F32', shape: [4], data_offsets: [0, 16] }, 12)).message;
    expect(message).toContain('"w"');
    expect(message).toContain('ends at byte 16');
    expect(message).toContain('12');
  });

  it('rejects overlapping tensors', () => {
    const file = buildFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      new Uint8Array(12),
    );
    const message = parseError(file).message;
    expect(message).toContain('"a"');
    expect(message).toContain('"b"');
    expect(message).toContain('overlap');
  });
});

describe('parseSafetensors real checkpoints', () => {
  /** Canonical names of the 73 tensors of a 4-layer BertForSequenceClassification. */
  function expectedNames(): string[] {
    const names = [
      'bert.embeddings.word_embeddings.weight',
      'bert.embeddings.position_embeddings.weight',
      'bert.embeddings.token_type_embeddings.weight',
      'bert.embeddings.LayerNorm.weight',
      'bert.embeddings.LayerNorm.bias',
      'bert.pooler.dense.weight',
      'bert.pooler.dense.bias',
      'classifier.weight',
      'classifier.bias',
    ];
    const perLayer = [
      'attention.self.query', 'attention.self.key', 'attention.self.value',
      'attention.output.dense', 'attention.output.LayerNorm', 'intermediate.dense', 'output.dense', 'output.LayerNorm',
    ];
    for (let layer = 0; layer < 4; layer++) {
      for (const module of perLayer) {
        names.push(`bert.encoder.layer.${layer}.${module}.weight`, `bert.encoder.layer.${layer}.${module}.bias`);
      }
    }
    return names.sort();
  }

  // Reference values read from the files with Python's struct module ('<e' for F16, '<f' for F32).
  const checkpoints = [
    {
      folder: 'sst2-bert-mini',
      dtype: 'F16',
      layerNormFirst: [0.99951171875, 0.9833984375, 1.0009765625],
      layerNormSum: 253.8193359375,
      classifierBias: [-0.00846099853515625, 0.00846099853515625],
      denseLast: 0.0188140869140625,
    },
    {
      folder: 'sst2-bert-mini-fca',
      dtype: 'F32',
      layerNormFirst: [0.9995982646942139, 0.9844837784767151, 1.00286865234375],
      layerNormSum: 254.0400322675705,
      classifierBias: [-0.009898039512336254, 0.009898041374981403],
      denseLast: 0.017305811867117882,
    },
  ];

  for (const checkpoint of checkpoints) {
    it(`loads ${checkpoint.folder} (${checkpoint.dtype})`, () => {
      const tensors = parseSafetensors(readFileSync(`${modelsDir}${checkpoint.folder}/model.safetensors`));
      expect(tensors.size).toBe(73);
      expect([...tensors.keys()].sort()).toEqual(expectedNames());
      for (const tensor of tensors.values()) {
        expect(tensor.dtype, tensor.name).toBe(checkpoint.dtype);
        expect(tensor.data.length, tensor.name).toBe(tensor.shape.reduce((a, b) => a * b, 1));
      }

      expect(tensors.get('bert.embeddings.word_embeddings.weight')!.shape).toEqual([30522, 256]);
      expect(tensors.get('bert.embeddings.position_embeddings.weight')!.shape).toEqual([512, 256]);
      expect(tensors.get('bert.embeddings.token_type_embeddings.weight')!.shape).toEqual([2, 256]);
      expect(tensors.get('bert.encoder.layer.2.attention.self.query.weight')!.shape).toEqual([256, 256]);
      expect(tensors.get('bert.encoder.layer.0.intermediate.dense.weight')!.shape).toEqual([1024, 256]);
      expect(tensors.get('bert.encoder.layer.3.output.dense.weight')!.shape).toEqual([256, 1024]);
      expect(tensors.get('classifier.weight')!.shape).toEqual([2, 256]);

      const layerNorm = tensors.get('bert.embeddings.LayerNorm.weight')!.data;
      expectSameValues(layerNorm.subarray(0, 3), checkpoint.layerNormFirst);
      // float32 sums differ from Python's float64 sum only in rounding: 1e-4 absolute is ample for 256 terms near 1.
      expect(Math.abs(layerNorm.reduce((a, b) => a + b, 0) - checkpoint.layerNormSum)).toBeLessThan(1e-4);
      expectSameValues(tensors.get('classifier.bias')!.data, checkpoint.classifierBias.map(Math.fround));
      const dense = tensors.get('bert.encoder.layer.3.output.dense.weight')!.data;
      expect(dense[dense.length - 1]).toBe(Math.fround(checkpoint.denseLast));
    });
  }
});

// Tests of the writer. The imports sit here, not at the top, because this part is appended to a file other work also edits.
import { serializeSafetensors } from '../src/model/safetensors.js';
import type { Tensor } from '../src/model/tensor.js';

function f32Tensor(name: string, shape: number[], values: number[]): Tensor {
  return { name, dtype: 'F32', shape, data: new Float32Array(values) };
}

describe('serializeSafetensors', () => {
  it('writes the header, its padding and little-endian F32 bytes', () => {
    const bytes = serializeSafetensors(new Map([['x', f32Tensor('x', [2], [1.5, -2])]]));
    const json = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    // 54 bytes of JSON, padded with spaces to 56, the next multiple of 8.
    expect(json.length).toBe(54);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getBigUint64(0, true)).toBe(56n);
    expect(new TextDecoder().decode(bytes.subarray(8, 64))).toBe(json + '  ');
    // 1.5 is 0x3FC00000 and -2 is 0xC0000000 in binary32.
    expect([...bytes.subarray(64)]).toEqual([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
    expect(bytes.byteLength).toBe(72);
  });

  it('round-trips through parseSafetensors', () => {
    const tensors = new Map<string, Tensor>([
      ['bert.embeddings.word_embeddings.weight', f32Tensor('bert.embeddings.word_embeddings.weight', [3, 2], [0.25, -1e-30, 3.4e38, -0, 1 / 3, 7])],
      ['scalar', f32Tensor('scalar', [], [42])],
      ['empty', f32Tensor('empty', [0, 4], [])],
      ['classifier.bias', f32Tensor('classifier.bias', [2], [Number.MIN_VALUE, -0.5])],
    ]);
    const parsed = parseSafetensors(serializeSafetensors(tensors));

    expect([...parsed.keys()]).toEqual([...tensors.keys()]);
    for (const [name, tensor] of tensors) {
      const back = parsed.get(name)!;
      expect(back.dtype, name).toBe('F32');
      expect(back.shape, name).toEqual(tensor.shape);
      expect(back.data.length, name).toBe(tensor.data.length);
      // Bitwise equality: -0 stays -0 and float32 subnormals survive.
      tensor.data.forEach((value, i) => expect(Object.is(back.data[i], value), `${name}[${i}]`).toBe(true));
    }
    expect(Object.is(parsed.get('bert.embeddings.word_embeddings.weight')!.data[3], -0)).toBe(true);
  });

  it('widens F16 tensors to F32 on the way back', () => {
    // binary16 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125.
    const file = buildFile({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, uint16Bytes([0x3c00, 0xc000, 0x3555]));
    const half = parseSafetensors(file).get('h')!;
    expect(half.dtype).toBe('F16');
    const back = parseSafetensors(serializeSafetensors(new Map([['h', half]]))).get('h')!;
    expect(back.dtype).toBe('F32');
    expect([...back.data]).toEqual([1, -2, 0.333251953125]);
  });

  it('rejects data that does not match the shape', () => {
    expect(() => serializeSafetensors(new Map([['w', f32Tensor('w', [2, 2], [1, 2, 3])]]))).toThrow(/"w" has 3 values but shape \[2,2\] needs 4/);
  });
});
