/**
 * What a kernel binds for a storage, per device: the GPU buffer of a webgpu
 * storage, the typed array of a cpu one. Backends make storages of these
 * shapes; eager's kernels and the compiler's compiled graphs read them only
 * through `gpuBufferOf` / `hostDataOf`.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Storage } from '../backend';
import type { TypedArray } from '../dtype';

/** A webgpu storage: a pooled buffer of at least `numel` 4-byte elements (bool as one u32 each). */
export interface GpuStorage extends Storage {
  readonly buffer: GPUBuffer;
}

/** A cpu storage: the typed array holding its elements (bool as 0/1 bytes). */
export interface HostStorage extends Storage {
  readonly data: TypedArray;
}

function wrongDevice(storage: Storage, want: string): KilnError {
  const what = storage.meta ? 'a symbolic storage (no data)' : `a ${storage.device} storage`;
  return new KilnError(`a kernel expected a ${want} storage, got ${what}`, { op: 'kernel' });
}

/** The buffer behind a webgpu storage. */
export function gpuBufferOf(storage: Storage): GPUBuffer {
  if (storage.device !== 'webgpu' || storage.meta) throw wrongDevice(storage, 'webgpu');
  return (storage as GpuStorage).buffer;
}

/** The typed array behind a cpu storage. */
export function hostDataOf(storage: Storage): TypedArray {
  if (storage.device !== 'cpu' || storage.meta) throw wrongDevice(storage, 'cpu');
  return (storage as HostStorage).data;
}
