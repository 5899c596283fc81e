/**
 * Creating tensors: from JS data (`tensor`, uploaded as a constant), or
 * through the dispatcher (`zeros`, `full`, `arange`, `rand`, ...), so that a
 * tracer records them as ops.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Device } from './backend';
import { dispatch } from './dispatch';
import { allocArray, dtypeOfArray } from './dtype';
import type { DType, Scalar, TypedArray } from './dtype';
import { uploadStorage } from './memory';
import { Tensor } from './tensor';
import type { NestedArray } from './tensor';
import { contiguousView, shapeStr } from './view';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
}

let defaultDevice: Device = 'cpu';

/** The device creation functions use when none is given. */
export function setDefaultDevice(device: Device): void {
  defaultDevice = device;
}

export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Shape and row-major elements of nested arrays; ragged nesting is an error. */
function flatten(data: NestedArray): { shape: number[]; values: (number | boolean)[] } {
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = level[0] ?? 0) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: (number | boolean)[] = [];
  const walk = (x: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (Array.isArray(x)) throw new KilnError(`ragged nested arrays: expected a number at depth ${d}`, { op: 'tensor' });
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new KilnError(`ragged nested arrays: expected length ${shape[d]} at depth ${d} (shape ${shapeStr(shape)})`, { op: 'tensor' });
    }
    for (const v of x) walk(v, d + 1);
  };
  walk(data, 0);
  return { shape, values };
}

/**
 * A tensor holding a copy of `data`: nested arrays (shape from the nesting)
 * or a typed array (1-D). The dtype defaults to the typed array's, bool for
 * booleans and float32 for numbers — unlike PyTorch's int64 for integer
 * lists, because JS cannot tell `1.0` from `1`; pass `dtype: 'int32'`.
 */
export function tensor(data: NestedArray | TypedArray | Float64Array, options: CreateOptions = {}): Tensor {
  const device = options.device ?? defaultDevice;
  if (ArrayBuffer.isView(data)) {
    const dtype = options.dtype ?? (data instanceof Float64Array ? 'float32' : dtypeOfArray(data));
    const array = allocArray(dtype, data.length);
    if (dtype === 'bool') for (let i = 0; i < data.length; i++) array[i] = data[i] !== 0 ? 1 : 0;
    else array.set(data);
    return new Tensor(uploadStorage(device, array), contiguousView([data.length]));
  }
  const { shape, values } = flatten(data);
  const dtype = options.dtype ?? (values.length > 0 && values.every((v) => typeof v === 'boolean') ? 'bool' : 'float32');
  const array = allocArray(dtype, values.length);
  values.forEach((v, i) => (array[i] = dtype === 'bool' ? Number(v !== 0 && v !== false) : Number(v)));
  return new Tensor(uploadStorage(device, array), contiguousView(shape));
}

export function full(shape: readonly number[], value: Scalar, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  return dispatch('full', [], { shape, value, dtype, device: options.device ?? defaultDevice });
}

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

/**
 * `arange(end)` or `arange(start, end, step = 1)`: start, start + step, ...
 * below end. int32 when all arguments are integers (like PyTorch), else float32.
 */
export function arange(end: number, options?: CreateOptions): Tensor;
export function arange(start: number, end: number, step?: number, options?: CreateOptions): Tensor;
export function arange(...args: (number | CreateOptions | undefined)[]): Tensor {
  const options = (typeof args.at(-1) === 'object' ? args.pop() : {}) as CreateOptions;
  const nums = args.filter((a): a is number => typeof a === 'number');
  const [start, end, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  return dispatch('arange', [], { start, end, step, dtype, device: options.device ?? defaultDevice });
}

/** Uniform on [0, 1), from the global Philox stream (see `manualSeed`). */
export function rand(shape: readonly number[], options: { device?: Device } = {}): Tensor {
  return dispatch('rand', [], { shape, device: options.device ?? defaultDevice });
}

/** Standard normal, from the global Philox stream. */
export function randn(shape: readonly number[], options: { device?: Device } = {}): Tensor {
  return dispatch('randn', [], { shape, device: options.device ?? defaultDevice });
}
