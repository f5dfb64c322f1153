import * as kernels from './kernel-checks.js';
import * as heads from './head-checks.js';
import * as models from './model-checks.js';
import './export-checks.js';
import './perf-checks.js';

const harness = { ...kernels, ...models, ...heads };

declare global {
  interface Window {
    harness: typeof harness;
    harnessReady: boolean;
  }
}

window.harness = harness;
window.harnessReady = true;
