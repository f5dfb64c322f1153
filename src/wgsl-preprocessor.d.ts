declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Tagged template that resolves `#if ${cond}` / `#elif ${cond}` / `#else` / `#endif` blocks. */
  export function wgsl(strings: TemplateStringsArray | readonly string[], ...values: unknown[]): string;
}
