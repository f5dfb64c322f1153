#!/usr/bin/env node
// Prepares a checkout to run: installs npm dependencies when node_modules
// does not match package-lock.json, then makes sure a Chromium with WebGPU is
// available. `npm start` and `npm test` run it first. Built-ins only, because
// it runs before node_modules exists. Prints nothing when all is in place.
//
// Options: --no-apt (or FCA_WEBGPU_NO_APT=1) never runs apt-get; without it,
// a missing Chromium is installed with apt-get when running as root.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_INSTALL_COMMAND, chromiumInstallHint, findChromium } from './chromium.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Returns why node_modules does not match package-lock.json, or null when it
 * does. npm records what it installed in node_modules/.package-lock.json;
 * optional packages for other platforms are absent from it by design.
 */
function dependencyMismatch() {
  const lockFile = path.join(repoRoot, 'package-lock.json');
  const installedFile = path.join(repoRoot, 'node_modules', '.package-lock.json');
  if (!existsSync(path.join(repoRoot, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(lockFile)) return 'package-lock.json is missing';
  if (!existsSync(installedFile)) return 'node_modules/.package-lock.json is missing';

  const locked = readJson(lockFile).packages ?? {};
  const installed = readJson(installedFile).packages ?? {};
  for (const [key, entry] of Object.entries(locked)) {
    if (key === '' || entry.link) continue;
    const actual = installed[key];
    if (!actual) {
      if (entry.optional) continue;
      return `${key} is not installed`;
    }
    if (actual.version !== entry.version) {
      return `${key} is ${actual.version} but package-lock.json has ${entry.version}`;
    }
    if (!existsSync(path.join(repoRoot, key))) return `${key} is missing`;
  }
  for (const key of Object.keys(installed)) {
    if (!(key in locked)) return `${key} is installed but not in package-lock.json`;
  }
  return null;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function installDependencies() {
  const mismatch = dependencyMismatch();
  if (!mismatch) return;

  const hasLock = existsSync(path.join(repoRoot, 'package-lock.json'));
  const args = hasLock ? ['ci'] : ['install'];
  console.error(`setup: ${mismatch}; running npm ${args.join(' ')}`);
  const status = run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args);
  if (status !== 0) {
    console.error(`setup: npm ${args.join(' ')} failed with exit status ${status}; fix the error above and run it again.`);
    process.exit(1);
  }
}

function aptAllowed() {
  if (process.argv.includes('--no-apt') || process.env.FCA_WEBGPU_NO_APT === '1') return false;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  return spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

function ensureChromium() {
  let chromium;
  try {
    chromium = findChromium();
  } catch (error) {
    console.error(`setup: ${error.message}`);
    process.exit(1);
  }
  if (chromium) return;

  if (aptAllowed()) {
    console.error(`setup: Chromium not found; running ${CHROMIUM_INSTALL_COMMAND}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const status = run('sh', ['-c', CHROMIUM_INSTALL_COMMAND], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (status === 0 && findChromium()) return;
    console.error(`setup: ${CHROMIUM_INSTALL_COMMAND} failed with exit status ${status}.`);
  }
  console.error(chromiumInstallHint());
  process.exit(1);
}

installDependencies();
ensureChromium();
