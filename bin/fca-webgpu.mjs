#!/usr/bin/env node
// fca-webgpu command line; see src/cli/main.mjs and `fca-webgpu --help`.
import { main } from '../src/cli/main.mjs';

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
