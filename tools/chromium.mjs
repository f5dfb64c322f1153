// Finds the Chromium executable that runs WebGPU, and the flags it needs.
// Shared by playwright.config.ts, the command line (src/cli/) and tools/setup.mjs.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** Environment variable that points at a Chromium or Chrome executable of the user's choice. */
export const CHROMIUM_ENV = 'FCA_WEBGPU_CHROMIUM';

/**
 * Flags for headless Chromium with WebGPU on any adapter, SwiftShader (the CPU
 * Vulkan implementation) included. The networking flags stop Chromium from
 * contacting Google services in the background.
 */
export const CHROMIUM_FLAGS = Object.freeze([
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** Command that installs Debian's Chromium, as root. */
export const CHROMIUM_INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

/** Returns the install instructions printed when no Chromium is found. */
export function chromiumInstallHint() {
  return [
    'Chromium was not found: fca-webgpu runs WebGPU in headless Chromium.',
    `Install Debian's Chromium (as root):`,
    `  ${CHROMIUM_INSTALL_COMMAND}`,
    `or point ${CHROMIUM_ENV} at a Chromium or Chrome executable with WebGPU:`,
    `  export ${CHROMIUM_ENV}=/path/to/chromium`,
  ].join('\n');
}

function isExecutableFile(file) {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/**
 * Returns the path of the Chromium executable to use: $FCA_WEBGPU_CHROMIUM
 * when set, else /usr/bin/chromium, else `chromium` or `chromium-browser` on
 * PATH; null when there is none.
 * Throws when $FCA_WEBGPU_CHROMIUM names a file that does not exist or is not executable.
 */
export function findChromium() {
  const fromEnv = process.env[CHROMIUM_ENV];
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(`${CHROMIUM_ENV} is set to ${JSON.stringify(fromEnv)}, which does not exist; fix the path or unset ${CHROMIUM_ENV}.`);
    }
    if (!isExecutableFile(fromEnv)) {
      throw new Error(`${CHROMIUM_ENV} is set to ${JSON.stringify(fromEnv)}, which is not an executable file; point it at the Chromium binary.`);
    }
    return path.resolve(fromEnv);
  }
  if (isExecutableFile('/usr/bin/chromium')) return '/usr/bin/chromium';
  return findOnPath('chromium') ?? findOnPath('chromium-browser');
}
