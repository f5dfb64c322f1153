import { preprocessShader, type ShaderDefines } from './shader.js';

/** One compute entry point of a WGSL file with its preprocessor switches; `name` is the pipeline label and cache key. */
export interface KernelSpec {
  name: string;
  source: string;
  entryPoint: string;
  defines: ShaderDefines;
}

/**
 * Compute pipelines keyed by kernel name. Shapes live in uniforms, so a
 * kernel compiles once per device whatever the sequence lengths are.
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  /** Pipelines created since this cache was made. */
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Compiles the kernels ahead of their first use, in parallel. */
  async prepare(kernels: Iterable<KernelSpec>): Promise<void> {
    await Promise.all([...kernels].map((kernel) => this.compile(kernel)));
  }

  /** Returns a pipeline compiled by prepare(), or compiles it synchronously. */
  get(kernel: KernelSpec): GPUComputePipeline {
    const cached = this.pipelines.get(kernel.name);
    if (cached) return cached;
    const pipeline = this.device.createComputePipeline(this.descriptor(kernel));
    this.created++;
    this.pipelines.set(kernel.name, pipeline);
    return pipeline;
  }

  private compile(kernel: KernelSpec): Promise<GPUComputePipeline> {
    const cached = this.pipelines.get(kernel.name);
    if (cached) return Promise.resolve(cached);
    let pending = this.pending.get(kernel.name);
    if (!pending) {
      const descriptor = this.descriptor(kernel);
      pending = this.device.createComputePipelineAsync(descriptor).then(
        (pipeline) => {
          this.created++;
          this.pipelines.set(kernel.name, pipeline);
          this.pending.delete(kernel.name);
          return pipeline;
        },
        async (error: Error) => {
          const info = await descriptor.compute.module.getCompilationInfo();
          const messages = info.messages.map((m) => `${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
          throw new Error(`kernel ${kernel.name} failed to compile: ${error.message}${messages ? `\n${messages}` : ''}`);
        },
      );
      this.pending.set(kernel.name, pending);
    }
    return pending;
  }

  private descriptor(kernel: KernelSpec): GPUComputePipelineDescriptor {
    const code = preprocessShader(kernel.source, kernel.defines, kernel.name);
    const module = this.device.createShaderModule({ label: kernel.name, code });
    return { label: kernel.name, layout: 'auto', compute: { module, entryPoint: kernel.entryPoint } };
  }
}
