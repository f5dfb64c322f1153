// Imports an npm dependency of the Node-side tools. When a fresh clone has no
// node_modules yet, the error gives the install command.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Imports the package `name`, or throws an Error with the `npm ci` command when it is not installed. */
export async function importDependency(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(`the package ${name} is not installed; run \`npm ci\` in ${repoRoot} first (npm start and npm test run it for you).`);
  }
}
