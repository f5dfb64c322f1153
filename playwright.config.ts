// Browser tests (e2e/) run in the system Chromium with WebGPU. Playwright never
// downloads a browser here: the executable comes from tools/chromium.mjs.
import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_FLAGS, chromiumInstallHint, findChromium } from './tools/chromium.mjs';

const PORT = 5199;
const baseURL = `http://127.0.0.1:${PORT}`;

const executablePath = findChromium();
if (!executablePath) throw new Error(chromiumInstallHint());

export default defineConfig({
  testDir: 'e2e',
  // One GPU (or SwiftShader on the CPU) shared by every test: run them one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? 'line' : 'list',
  // SwiftShader compiles pipelines and runs kernels slowly: a model load plus a few passes can take minutes.
  timeout: 5 * 60_000,
  expect: { timeout: 30_000 },
  use: {
    baseURL,
    navigationTimeout: 60_000,
    actionTimeout: 60_000,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        headless: true,
        launchOptions: { executablePath, args: [...CHROMIUM_FLAGS] },
      },
    },
  ],
  webServer: {
    // --bypass-lock: a developer's own `npm start` server may run beside the test server.
    command: `npx vite --host 127.0.0.1 --port ${PORT} --strictPort --bypass-lock`,
    url: `${baseURL}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    env: { FCA_WEBGPU_HMR: '0' },
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
