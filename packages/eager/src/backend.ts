/**
 * The device seam. A backend owns storages on its device and runs a small,
 * fixed set of kernel families; the op table (./ops) maps every op onto one
 * family, so a backend never lists ops one by one, and adding a family to
 * this interface makes TypeScript list every backend that lacks it.
 *
 * Kernels receive storages with views, never Tensors: inputs may be strided
 * or broadcast (stride 0) and must be read through their views (no hidden
 * copies), and outputs are preallocated by the dispatcher. Kernels may only
 * enqueue work (webgpu encodes a dispatch); the only way to see data is the
 * async `read`.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { DType, TypedArray } from './dtype';
import type { ElementwiseOp, ElementwiseTypes } from './ops/elementwise';
import type { ReduceOp } from './ops/reductions';
import type { View } from './view';

export type Device = 'cpu' | 'webgpu';

export const DEVICES: readonly Device[] = ['cpu', 'webgpu'];

/** Memory of one device holding `numel` elements of `dtype`. Shared by all views of it. */
export interface Storage {
  readonly device: Device;
  readonly dtype: DType;
  readonly numel: number;
  /** Bytes it occupies on its device (bool is 1 byte per element on cpu, 4 on webgpu). */
  readonly bytes: number;
  /** Live tensors using it; owned by ./memory, which frees it at zero. */
  refs: number;
  /** Bumped by every in-place write through any view of it. */
  version: number;
  /** No memory behind it: a symbolic tensor's storage (see `metaStorage`). */
  readonly meta?: true;
  /** Its place in the order storages were first wrapped in a tensor (./memory): tells what a compiled call made from what existed before it. */
  born?: number;
}

/** A tensor as kernels see it: its storage and the view into it (dtype is `storage.dtype`). */
export interface TensorRef {
  readonly storage: Storage;
  readonly view: View;
}

/** A JS scalar operand, with the dtype it takes part in promotion as. */
export interface ScalarRef {
  readonly value: number;
  readonly dtype: DType;
}

export type Operand = TensorRef | ScalarRef;

export function isTensorRef(o: Operand): o is TensorRef {
  return 'storage' in o;
}

export type RandomDist = 'uniform' | 'normal';

export interface DeviceBackend {
  readonly device: Device;
  /** A new storage; its contents are unspecified until a kernel writes them. */
  alloc(dtype: DType, numel: number): Storage;
  /** A new storage holding a copy of `data` (dtype from the array: Uint8Array is bool). */
  upload(data: TypedArray): Storage;
  /** Releases the memory of a storage nobody references any more. */
  free(storage: Storage): void;
  /** The elements of `src` in row-major order of its view, as a new typed array of its dtype. */
  read(src: TensorRef): Promise<TypedArray>;
  /** Synchronous `read`, only on devices whose memory the JS thread can see (cpu); used by `to()`. */
  readSync?(src: TensorRef): TypedArray;

  /**
   * out[i] = template(inputs[i]...). Every tensor operand's view already has
   * the output's shape (broadcast dims have stride 0). Operands are converted
   * to `types.compute[k]`, the template computes in `types.result`, and the
   * value is converted to the output's dtype on store. `out` may be a strided
   * view (in-place ops write through views) but never overlaps an input.
   */
  elementwise(op: ElementwiseOp, inputs: readonly Operand[], out: TensorRef, types: ElementwiseTypes): void;
  /**
   * Reduces `dims` (sorted, distinct) of `input`. `out.view.shape` is the
   * input's shape without those dims (keepdim is a view the dispatcher adds).
   */
  reduce(op: ReduceOp, input: TensorRef, out: TensorRef, dims: readonly number[]): void;
  /**
   * a [...B, M, K] @ b [...B, K, N] -> out [...B, M, N]: equal ranks >= 2,
   * batch dims already broadcast (stride 0), same dtype (float32 or int32),
   * out contiguous.
   */
  matmul(a: TensorRef, b: TensorRef, out: TensorRef): void;
  /**
   * out[i...] = input[i... with i[dim] replaced by index[i...]]; index is
   * int32 with out's shape and the input's rank; out contiguous. An index
   * outside [0, size) is a KilnError naming `op` (the op the user called),
   * thrown at once (cpu) or at the next sync (webgpu: a device-side assert,
   * see @kiln/gpu-runtime's device-asserts); it never reads outside the input.
   */
  gather(input: TensorRef, index: TensorRef, out: TensorRef, dim: number, op: string): void;
  /** out (contiguous, 1-D) [i] = start + i * step, computed in out's dtype. */
  arange(out: TensorRef, start: number, step: number): void;
  /**
   * Fills out (contiguous float32) with Philox4x32-10 numbers: element i
   * uses stream position offset + i under key `seed` (see ./random), so all
   * devices give the same numbers.
   */
  random(out: TensorRef, dist: RandomDist, seed: number, offset: number): void;
}

const backends = new Map<Device, DeviceBackend>();

/** Makes a device usable; a later registration for the same device replaces the earlier one. */
export function registerBackend(backend: DeviceBackend): void {
  backends.set(backend.device, backend);
}

export function hasBackend(device: Device): boolean {
  return backends.has(device);
}

export function getBackend(device: Device, op = 'device'): DeviceBackend {
  const b = backends.get(device);
  if (!b) throw new KilnError(`no backend is registered for device '${device}' (initialize it first)`, { op });
  return b;
}
