/** Rounds a byte size up to a multiple of `alignment`. */
export function alignTo(bytes: number, alignment: number): number {
  return Math.ceil(bytes / alignment) * alignment;
}

/** Creates a storage buffer holding `data`; sizes are padded to 16 bytes so the buffer can be read as vec4s. */
export function uploadStorage(device: GPUDevice, label: string, data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, alignTo(data.byteLength, 16)),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  const Constructor = data.constructor as { new (buffer: ArrayBuffer): Float32Array | Uint32Array | Int32Array };
  new Constructor(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

/**
 * Activation buffers reused across passes, one per role. A role's buffer
 * grows to the next power of two when a pass needs more, so lengths that
 * vary call to call settle on a fixed set of buffers.
 */
export class BufferPool {
  private readonly buffers = new Map<string, GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  acquire(role: string, bytes: number, usage: GPUBufferUsageFlags = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    const needed = Math.max(256, alignTo(bytes, 16));
    const existing = this.buffers.get(role);
    if (existing && existing.size >= needed && existing.usage === usage) return existing;
    existing?.destroy();
    const size = 2 ** Math.ceil(Math.log2(needed));
    const buffer = this.device.createBuffer({ label: role, size, usage });
    this.buffers.set(role, buffer);
    return buffer;
  }

  /** Bytes held by the pool's buffers. */
  get bytesHeld(): number {
    let total = 0;
    for (const buffer of this.buffers.values()) total += buffer.size;
    return total;
  }

  destroy(): void {
    for (const buffer of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
  }
}
