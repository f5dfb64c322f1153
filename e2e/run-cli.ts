// Runs the fca-webgpu command line as a child process for the end-to-end tests.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Per-command limit: a model load plus a pass over a few inputs takes seconds, a calibration a minute or two on SwiftShader. */
const CLI_TIMEOUT_MS = 4 * 60_000;

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/fca-webgpu.mjs` with `args`, writes `stdin` to it, and collects its exit status and output. */
export function runCli(args: string[], stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/fca-webgpu.mjs'), ...args], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`fca-webgpu ${args.join(' ')} timed out after ${CLI_TIMEOUT_MS / 1000} s; stderr:\n${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}
