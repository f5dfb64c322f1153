// Performance invariants of the engine on a tiny random-weight model (2 layers,
// hidden 64): pipelines, GPU memory, submits per pass and kernel profiling.
import { expect, test, type Page } from '@playwright/test';

async function openHarness(page: Page) {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
}

test('no pipeline created after warm-up', async ({ page }) => {
  await openHarness(page);
  const result = await page.evaluate(() => window.perfHarness.checkNoPipelinesAfterWarmUp());
  expect(result.calls).toBe(512);
  expect(result.pipelinesAfterWarmUp).toBeGreaterThan(0);
  expect(result.changedAt).toEqual([]);
  expect(result.pipelinesAfterRuns).toBe(result.pipelinesAfterWarmUp);
});

test('GPU memory flat over 1,000 calls', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  await openHarness(page);
  const calls = 1000;
  const { snapshots } = await page.evaluate((n) => window.perfHarness.checkMemoryFlat(n), calls);
  const [early, late] = snapshots;
  expect(early.call).toBe(10);
  expect(late.call).toBe(calls);
  expect(early.gpuBytes).toBeGreaterThan(0);
  expect(late.gpuBytes).toBe(early.gpuBytes);
  expect(late.buffersLive).toBe(early.buffersLive);

  // After the first cycle of lengths only the per-call readback staging buffer may be created, at most once a call.
  const createdLater: Record<string, number> = {};
  for (const [label, count] of Object.entries(late.createdByLabel)) {
    const extra = count - (early.createdByLabel[label] ?? 0);
    if (extra > 0) createdLater[label] = extra;
  }
  for (const [label, count] of Object.entries(createdLater)) {
    expect(label, `buffers labelled ${JSON.stringify(label)} created after call 10: ${count}`).toBe('readback');
    expect(count).toBeLessThanOrEqual(calls - 10);
  }
});

test('one encoder and one submit per pass', async ({ page }) => {
  await openHarness(page);
  const cases = await page.evaluate(() => window.perfHarness.checkOneSubmitPerPass());
  expect(cases.length).toBe(7);
  for (const item of cases) {
    const passes = Math.ceil(item.inputs / item.batchSize);
    expect(item.encoders, `${item.name}: command encoders`).toBe(passes);
    expect(item.submits, `${item.name}: submits`).toBe(passes);
  }
});

test('kernel profile names every kernel', async ({ page }) => {
  await openHarness(page);
  const result = await page.evaluate(() => window.perfHarness.checkKernelProfile());
  test.skip(result === null, "the adapter has no 'timestamp-query' feature");
  const { profiles, logitDifference } = result!;
  // Profiling changes only how passes are encoded, not the arithmetic.
  expect(logitDifference).toBe(0);

  const dense = profiles.dense;
  expect(dense.passes).toBe(1);
  const dispatches = Object.fromEntries(dense.kernels.map((k) => [k.name, k.dispatches]));
  expect(dispatches.embeddingsLayerNorm).toBe(1);
  expect(dispatches.attentionScores).toBe(2);
  expect(dispatches.softmaxRows).toBe(2);
  expect(dispatches.attentionContext).toBe(2);
  expect(dispatches.addLayerNorm).toBe(2 * 2);
  // Per layer Q/K/V, attention output, FFN input and FFN output, then the pooler and the classifier, whatever GEMM variants run them.
  const gemmDispatches = dense.kernels.filter((k) => k.name.startsWith('gemm')).reduce((sum, k) => sum + k.dispatches, 0);
  expect(gemmDispatches).toBe(2 * 4 + 2);
  expect(dense.totalMs).toBeGreaterThan(0);
  for (const kernel of dense.kernels) expect(kernel.totalMs, kernel.name).toBeGreaterThanOrEqual(0);

  const fcaNames = profiles.fca.kernels.map((k) => k.name);
  for (const name of ['attentionColumnScores', 'topKSelect', 'assignDestinations', 'gatherMerge']) {
    expect(fcaNames, name).toContain(name);
  }
});

test('lost device gives a DeviceError', async ({ page }) => {
  await openHarness(page);
  const { before, copied, during, after } = await page.evaluate(() => window.perfHarness.checkDeviceLoss());
  // The pass in flight when the device goes and every later call fail with the same advice.
  expect(during.logits).toBeNull();
  expect(during.error).toMatch(/^DeviceError: the WebGPU device was lost .*load the model again/);
  expect(after.logits).toBeNull();
  expect(after.error).toMatch(/^DeviceError: the WebGPU device was lost .*load the model again/);
  // A result returned before the loss stays as it was.
  expect(before).toEqual(copied);
  expect(before.every(Number.isFinite)).toBe(true);
});
