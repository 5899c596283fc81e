/**
 * The cpu backend: storages are typed arrays (bool as 0/1 bytes), kernels
 * are generated JS loops (./elementwise, ./reduce) or hand-written ones.
 * Registered on import.
 */

import type { DeviceBackend, Storage, TensorRef } from '../backend';
import { registerBackend } from '../backend';
import type { DType, TypedArray } from '../dtype';
import { allocArray, dtypeOfArray } from '../dtype';
import { type HostStorage, hostDataOf } from '../kernels/storage';
import { elementwiseTypes } from '../ops/elementwise';
import { philoxFill } from '../random';
import { contiguousView, isContiguous, numelOf } from '../view';
import { elementwise } from './elementwise';
import { gather } from './gather';
import { copiedHostArray, freeHostArray, newHostArray } from './host-arrays';
import { matmul } from './matmul';
import { reduce } from './reduce';

function wrap(data: TypedArray): HostStorage {
  return { device: 'cpu', dtype: dtypeOfArray(data), numel: data.length, bytes: data.byteLength, refs: 0, version: 0, data };
}

function readSync(src: TensorRef): TypedArray {
  const v = src.view;
  const n = numelOf(v.shape);
  const data = hostDataOf(src.storage);
  const out = wrap(allocArray(src.storage.dtype, n));
  // A copy by set: slice() of an array on a SharedArrayBuffer (an arena storage) is element by element, 70x slower.
  if (isContiguous(v)) {
    out.data.set(data.subarray(v.offset, v.offset + n));
    return out.data;
  }
  const dtype = src.storage.dtype;
  elementwise('cast', [src], { storage: out, view: contiguousView(v.shape) }, elementwiseTypes('cast', [dtype], dtype));
  return out.data;
}

export const cpuBackend: DeviceBackend = {
  device: 'cpu',
  alloc: (dtype: DType, numel: number): Storage => wrap(newHostArray(dtype, numel)),
  upload: (data) => wrap(copiedHostArray(data)),
  free: (storage) => freeHostArray(hostDataOf(storage)),
  read: async (src) => readSync(src),
  readSync,
  elementwise,
  reduce,
  matmul,
  gather,
  arange(out, start, step) {
    const O = hostDataOf(out.storage);
    const o = out.view.offset;
    for (let i = 0; i < out.view.shape[0]!; i++) O[o + i] = start + i * step;
  },
  random(out, dist, seed, offset) {
    const o = out.view.offset;
    philoxFill((hostDataOf(out.storage) as Float32Array).subarray(o, o + numelOf(out.view.shape)), dist, seed, offset);
  },
};

registerBackend(cpuBackend);
