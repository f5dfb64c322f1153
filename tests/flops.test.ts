import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encoderFlops } from '../src/fca/flops.js';
import { planLayers, resolveFcaOptions, type FcaOptions } from '../src/fca/retention.js';

const goldenPath = fileURLToPath(new URL('../../shared/models/sst2-bert-mini/golden.jsonl', import.meta.url));

type GoldenRecord = { input_ids: number[] } & Record<string, { flops: number }>;

const golden: GoldenRecord[] = readFileSync(goldenPath, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));

const miniShape = { hiddenSize: 256, intermediateSize: 1024 };
const bertBaseShape = { hiddenSize: 768, intermediateSize: 3072 };

const goldenSettings: Record<string, FcaOptions | undefined> = {
  dense: undefined,
  'r50-k2': { retention: 0.5, clusters: 2 },
  'r70-50-40-30-k1': { retention: [0.7, 0.5, 0.4, 0.3], clusters: 1 },
  'r60-40-30-20-k3': { retention: [0.6, 0.4, 0.3, 0.2], clusters: 3 },
  'r50-drop': { retention: 0.5, clusters: 0 },
};

describe('encoderFlops', () => {
  it('counts one layer by hand', () => {
    // n_in 10, n_out 6, D 4, F 8: 8*10*16 + 4*100*4 + 4*6*4*8 = 1280 + 1600 + 768.
    const steps = [{ nIn: 10, reduces: true, fine: 5, clusters: 1, nOut: 6 }];
    expect(encoderFlops(steps, { hiddenSize: 4, intermediateSize: 8 })).toBe(3648);
  });

  it('is zero without layers', () => {
    expect(encoderFlops([], miniShape)).toBe(0);
  });

  it('gives about 22.3 GFLOPs for BERT-base at length 128', () => {
    const flops = encoderFlops(planLayers(128, 12, null), bertBaseShape);
    // Per layer: 8*128*768^2 + 4*128^2*768 + 4*128*768*3072 = 1,862,270,976.
    expect(flops).toBe(12 * 1_862_270_976);
    expect(Math.abs(flops / 1e9 - 22.3)).toBeLessThan(0.05);
  });

  it('gives about 11.0 GFLOPs for BERT-base at length 64', () => {
    const flops = encoderFlops(planLayers(64, 12, null), bertBaseShape);
    // Per layer: 8*64*768^2 + 4*64^2*768 + 4*64*768*3072 = 918,552,576.
    expect(flops).toBe(12 * 918_552_576);
    expect(Math.abs(flops / 1e9 - 11.0)).toBeLessThan(0.05);
  });

  it('charges the feed-forward on the reduced length', () => {
    const dense = encoderFlops(planLayers(40, 1, null), miniShape);
    const reduced = encoderFlops(planLayers(40, 1, resolveFcaOptions({ retention: 0.5, clusters: 0 }, 1)), miniShape);
    // Attention still runs on 40 tokens; only the feed-forward drops from 40 to 20 tokens.
    expect(dense - reduced).toBe(4 * 20 * 256 * 1024);
  });

  for (const [name, options] of Object.entries(goldenSettings)) {
    it(`matches golden flops for ${name}`, () => {
      const settings = resolveFcaOptions(options, 4);
      expect(golden.length).toBe(78);
      for (const [index, record] of golden.entries()) {
        const flops = encoderFlops(planLayers(record.input_ids.length, 4, settings), miniShape);
        expect(flops, `input ${index}, n0 ${record.input_ids.length}`).toBe(record[name].flops);
      }
    });
  }
});
