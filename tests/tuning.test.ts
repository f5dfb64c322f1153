import { describe, expect, it } from 'vitest';
import { TEXTURE_GEMM_TILES, TILED_GEMM_TILE, chooseGemmTile, gemmTileName } from '../src/gpu/tuning.js';

const rowsOf = (shape: { rows: number; inFeatures: number; outPadded: number }, threads = 2) => chooseGemmTile(TEXTURE_GEMM_TILES, shape, threads).rows;

describe('chooseGemmTile', () => {
  it('keeps the 16-row tile for long inputs', () => {
    expect(rowsOf({ rows: 128, inFeatures: 768, outPadded: 3072 })).toBe(16);
    expect(rowsOf({ rows: 512, inFeatures: 3072, outPadded: 768 })).toBe(16);
    expect(rowsOf({ rows: 16, inFeatures: 256, outPadded: 768 })).toBe(16);
  });

  it('takes smaller tiles for a few rows', () => {
    // Measured (bench/gemm.md): at 8 x 256 x 768 the 8-row tile ran 1.6 times as fast as the 16-row one,
    // and at 2 x 256 x 768 the 4-row tile 2.2 times.
    expect(rowsOf({ rows: 8, inFeatures: 256, outPadded: 768 })).toBe(8);
    expect(rowsOf({ rows: 8, inFeatures: 256, outPadded: 256 })).toBe(8);
    expect(rowsOf({ rows: 2, inFeatures: 256, outPadded: 768 })).toBe(4);
    expect(rowsOf({ rows: 1, inFeatures: 256, outPadded: 4 })).toBe(4);
  });

  it('weighs the rows a tile computes past the matrix against its speed', () => {
    // 24 rows: two 16-row blocks compute 32 rows, three 8-row blocks exactly 24 at 0.82 of the speed.
    expect(rowsOf({ rows: 24, inFeatures: 256, outPadded: 768 })).toBe(8);
    // 32 rows fill 16-row tiles exactly.
    expect(rowsOf({ rows: 32, inFeatures: 256, outPadded: 768 })).toBe(16);
  });

  it('counts rounds of workgroups over the threads', () => {
    // 16 rows by 64 columns. With 16 threads every tile finishes in one round, so the smallest tile wins.
    // With 1 thread the workgroups run one after another, so speed per thread decides.
    expect(rowsOf({ rows: 16, inFeatures: 256, outPadded: 64 }, 16)).toBe(4);
    expect(rowsOf({ rows: 16, inFeatures: 256, outPadded: 64 }, 1)).toBe(16);
  });

  it('returns the only tile of a one-tile variant', () => {
    expect(chooseGemmTile([TILED_GEMM_TILE], { rows: 1, inFeatures: 4, outPadded: 4 })).toBe(TILED_GEMM_TILE);
  });

  it('names tiles by their rows', () => {
    expect(TEXTURE_GEMM_TILES.map(gemmTileName)).toEqual(['R16', 'R8', 'R4']);
  });
});
