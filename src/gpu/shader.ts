import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

/** Names that a kernel source may test with `#if NAME` / `#elif NAME`. */
export type ShaderDefines = Readonly<Record<string, boolean>>;

const DIRECTIVE = /(#(?:if|elif)[ \t]+)([A-Za-z_][A-Za-z0-9_]*)/;

/**
 * Resolves the `#if NAME` / `#elif NAME` / `#else` / `#endif` blocks of a
 * `.wgsl` file with wgsl-preprocessor. The preprocessor works on template
 * literals, so each `#if NAME` is turned into a template slot holding
 * `defines[NAME]`. A name missing from `defines` is an error, so a typo
 * cannot silently select the `#else` branch.
 */
export function preprocessShader(source: string, defines: ShaderDefines, label: string): string {
  const parts = source.split(DIRECTIVE);
  const strings: string[] = [parts[0]];
  const values: boolean[] = [];
  for (let i = 1; i < parts.length; i += 3) {
    const name = parts[i + 1];
    if (!(name in defines)) {
      throw new Error(`shader ${label}: #if ${name} has no value; pass ${name} in the kernel's defines.`);
    }
    strings[strings.length - 1] += parts[i];
    values.push(defines[name]);
    strings.push(parts[i + 2]);
  }
  return wgsl(strings, ...values);
}
