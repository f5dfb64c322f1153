// Imports an npm dependency of the Node-side tools, with an error that says
// how to install it when a fresh clone has no node_modules yet.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Imports the package `name`, or throws an Error that says to run `npm ci` when it is not installed. */
export async function importDependency(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(`the package ${name} is not installed; run \`npm ci\` in ${repoRoot} first (npm start and npm test run it for you).`);
  }
}
