import { DeviceError } from '../types.js';

/** A WebGPU device with the facts about its adapter that kernels and reports need. */
export interface GpuContext {
  device: GPUDevice;
  adapterDescription: string;
  /** Set once the device is lost; every later call fails with this error. */
  lost: DeviceError | null;
}

const BROWSER_HINT =
  'Use a browser with WebGPU (Chrome or Edge 113+, or Chromium started with --enable-unsafe-webgpu, plus --enable-unsafe-swiftshader when there is no GPU) and serve the page from https:// or http://127.0.0.1.';

/** Optional device features to request. */
export interface GpuContextOptions {
  /** Request 'timestamp-query' when the adapter offers it, for per-kernel profiling; a missing feature is not an error here. */
  timestampQuery?: boolean;
}

/** Requests an adapter and a device with the largest buffer limits the adapter allows. */
export async function createGpuContext(existing?: GPUDevice, powerPreference?: GPUPowerPreference, options: GpuContextOptions = {}): Promise<GpuContext> {
  if (existing) return watchLoss({ device: existing, adapterDescription: 'device supplied by the caller', lost: null });

  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new DeviceError(`WebGPU is not available here (navigator.gpu is undefined). ${BROWSER_HINT}`);
  }
  const adapter = await navigator.gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) {
    throw new DeviceError(`navigator.gpu.requestAdapter() returned no adapter. ${BROWSER_HINT}`);
  }
  const limits = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: requestedFeatures(adapter, options),
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      },
    });
  } catch (error) {
    throw new DeviceError(`requestDevice failed: ${(error as Error).message}. ${BROWSER_HINT}`);
  }
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.description].filter((part) => part).join(' / ') || 'unknown adapter';
  return watchLoss({ device, adapterDescription: description, lost: null });
}

function watchLoss(context: GpuContext): GpuContext {
  void context.device.lost.then((info) => {
    context.lost = new DeviceError(
      `the WebGPU device was lost (${info.reason}: ${info.message}); load the model again to get a new device.`,
    );
  });
  return context;
}

/**
 * Optional features the engine uses when the adapter has them: 'subgroups'
 * lets the CPU-friendly GEMM share rows across a subgroup (about twice as
 * fast on SwiftShader, see src/gpu/tuning.ts); 'timestamp-query' only when
 * profiling was asked for.
 */
function requestedFeatures(adapter: GPUAdapter, options: { timestampQuery?: boolean }): GPUFeatureName[] {
  const features: GPUFeatureName[] = [];
  if (adapter.features.has('subgroups')) features.push('subgroups');
  if (options.timestampQuery && adapter.features.has('timestamp-query')) features.push('timestamp-query');
  return features;
}
