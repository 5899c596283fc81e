/**
 * Creating tensors: from JS data (`tensor`, uploaded as a constant), or
 * through the dispatcher (`zeros`, `full`, `arange`, `rand`, ...), so that a
 * tracer records them as ops.
 */
import { KilnError } from '@kiln/gpu-runtime';
import { setRequiresGrad } from './autograd/state';
import type { Device } from './backend';
import { BOOL, checkArg, checkNumel, checkOptions, DEVICE, DTYPE, FINITE, oneOf, SCALAR, SHAPE, show } from './checks';
import { dispatch, inContext } from './dispatch';
import type { DType, Scalar, TypedArray } from './dtype';
import { allocArray, dtypeOfArray } from './dtype';
import { uploadStorage } from './memory';
import type { NestedArray } from './tensor';
import { Tensor } from './tensor';
import { contiguousView, shapeStr } from './view';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  /** Make the tensor a leaf that requires grad (float32 only), as `requiresGrad_()` does. */
  requiresGrad?: boolean;
}

/** `requiresGrad` from checked options, applied to a new tensor. */
function withGrad(op: string, t: Tensor, requiresGrad: unknown): Tensor {
  if (requiresGrad !== undefined) setRequiresGrad(t, checkArg(op, 'requiresGrad', requiresGrad, BOOL), op);
  return t;
}

let defaultDevice: Device = 'cpu';

/** The device creation functions use when none is given. */
export function setDefaultDevice(device: Device): void {
  defaultDevice = checkArg('setDefaultDevice', 'device', device, DEVICE);
}

/** `options` checked: only `keys`, a known dtype and device; the device defaults to the default device. */
function createOptions(
  op: string,
  options: unknown,
  keys: readonly (keyof CreateOptions)[] = ['dtype', 'device', 'requiresGrad'],
): { dtype?: DType; device: Device; requiresGrad?: unknown } {
  const o = checkOptions(op, options, keys);
  return {
    dtype: o.dtype === undefined ? undefined : checkArg(op, 'dtype', o.dtype, DTYPE),
    device: o.device === undefined ? defaultDevice : checkArg(op, 'device', o.device, DEVICE),
    requiresGrad: o.requiresGrad,
  };
}

/** A shape argument: non-negative integer sizes, and no more elements than a tensor can hold. */
function checkShape(op: string, shape: unknown): readonly number[] {
  const checked = checkArg(op, 'shape', shape, SHAPE);
  checkNumel(op, 'shape', checked);
  return checked;
}

export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Shape and row-major elements of nested arrays; ragged nesting and anything but numbers and booleans are errors. */
function flatten(data: NestedArray): { shape: number[]; values: (number | boolean)[] } {
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = level[0] ?? 0) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: (number | boolean)[] = [];
  const at = (path: readonly number[]) => (path.length === 0 ? '' : ` at data${path.map((i) => `[${i}]`).join('')}`);
  const walk = (x: NestedArray, path: number[]): void => {
    const d = path.length;
    if (d === shape.length) {
      if (Array.isArray(x)) throw new KilnError(`ragged nested arrays: expected a number at depth ${d}`, { op: 'tensor' });
      if (!SCALAR.test(x)) {
        throw new KilnError(`data must hold numbers or booleans (nested arrays or a typed array), got ${show(x)}${at(path)}`, {
          op: 'tensor',
        });
      }
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new KilnError(`ragged nested arrays: expected length ${shape[d]} at depth ${d} (shape ${shapeStr(shape)})`, { op: 'tensor' });
    }
    x.forEach((v, i) => walk(v, [...path, i]));
  };
  walk(data, []);
  return { shape, values };
}

/** The typed arrays `tensor` takes, and the dtype each gives by default. */
const TYPED_ARRAYS: readonly [new (n: number) => ArrayBufferView, DType][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float32'],
  [Int32Array, 'int32'],
  [Uint8Array, 'bool'],
];

/**
 * A tensor holding a copy of `data`: nested arrays (shape from the nesting)
 * or a typed array (1-D). The dtype defaults to the typed array's, bool for
 * booleans and float32 for numbers — unlike PyTorch's int64 for integer
 * lists, because JS cannot tell `1.0` from `1`; pass `dtype: 'int32'`.
 */
export function tensor(data: NestedArray | TypedArray | Float64Array, options: CreateOptions = {}): Tensor {
  const { requiresGrad, ...o } = createOptions('tensor', options);
  return withGrad('tensor', fromData(data, o), requiresGrad);
}

function fromData(data: NestedArray | TypedArray | Float64Array, options: { dtype?: DType; device: Device }): Tensor {
  const { dtype: given, device } = options;
  if (ArrayBuffer.isView(data)) {
    const known = TYPED_ARRAYS.find(([type]) => data instanceof type);
    if (!known) {
      const accepted = TYPED_ARRAYS.map(([type]) => type.name).join(', ');
      throw new KilnError(`data must be nested arrays of numbers or booleans, or one of ${accepted}; got ${show(data)}`, { op: 'tensor' });
    }
    const dtype = given ?? known[1];
    const array = allocArray(dtype, data.length);
    if (dtype === 'bool') for (let i = 0; i < data.length; i++) array[i] = data[i] !== 0 ? 1 : 0;
    else array.set(data);
    return new Tensor(upload(device, array, [data.length]), contiguousView([data.length]));
  }
  const { shape, values } = flatten(data);
  const dtype = given ?? (values.length > 0 && values.every((v) => typeof v === 'boolean') ? 'bool' : 'float32');
  const array = allocArray(dtype, values.length);
  values.forEach((v, i) => (array[i] = dtype === 'bool' ? Number(v !== 0 && v !== false) : Number(v)));
  return new Tensor(upload(device, array, shape), contiguousView(shape));
}

function upload(device: Device, array: TypedArray, shape: readonly number[]) {
  try {
    return uploadStorage(device, array);
  } catch (e) {
    throw inContext(e, 'tensor', { dtype: dtypeOfArray(array), shape });
  }
}

/** `full` called as `op` (zeros and ones are full), so that errors name what the user called. */
function filled(op: string, shape: readonly number[], value: Scalar, options: CreateOptions | undefined): Tensor {
  checkShape(op, shape);
  checkArg(op, 'value', value, SCALAR);
  const { dtype, device, requiresGrad } = createOptions(op, options);
  const t = dispatch('full', [], { shape, value, dtype: dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32'), device });
  return withGrad(op, t, requiresGrad);
}

export function full(shape: readonly number[], value: Scalar, options: CreateOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return filled('zeros', shape, 0, options);
}

export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return filled('ones', shape, 1, options);
}

/**
 * `arange(end)` or `arange(start, end, step = 1)`: start, start + step, ...
 * below end. int32 when all arguments are integers (like PyTorch), else float32.
 */
export function arange(end: number, options?: CreateOptions): Tensor;
export function arange(start: number, end: number, step?: number, options?: CreateOptions): Tensor;
export function arange(...args: (number | CreateOptions | undefined)[]): Tensor {
  // A trailing non-number is the options object (checked as such); the numbers before it are the bounds.
  const last = args.at(-1);
  const options = args.length > 1 && typeof last !== 'number' && last !== undefined ? args.pop() : undefined;
  while (args.length > 1 && args.at(-1) === undefined) args.pop(); // arange(0, 5, undefined): step's default
  if (args.length > 3)
    throw new KilnError(`expected arange(end) or arange(start, end, step?), got ${args.length} numbers`, { op: 'arange' });
  if (args.length === 0) args.push(undefined); // arange(): end is missing
  const names = args.length === 1 ? ['end'] : ['start', 'end', 'step'];
  const nums = args.map((a, i) => checkArg('arange', names[i]!, a, FINITE));
  const [start, end, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
  const o = createOptions('arange', options);
  const dtype =
    o.dtype === undefined
      ? [start, end, step].every(Number.isInteger)
        ? 'int32'
        : 'float32'
      : checkArg('arange', 'dtype', o.dtype, ARANGE_DTYPE);
  return withGrad('arange', dispatch('arange', [], { start, end, step, dtype, device: o.device }), o.requiresGrad);
}

const ARANGE_DTYPE = oneOf(['float32', 'int32']);

/** Options of the random creation functions (always float32). */
export type RandomOptions = Omit<CreateOptions, 'dtype'>;

function random(op: 'rand' | 'randn', shape: readonly number[], options: RandomOptions): Tensor {
  const o = createOptions(op, options, ['device', 'requiresGrad']);
  return withGrad(op, dispatch(op, [], { shape: checkShape(op, shape), device: o.device }), o.requiresGrad);
}

/** Uniform on [0, 1), from the global Philox stream (see `manualSeed`). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return random('rand', shape, options);
}

/** Standard normal, from the global Philox stream. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return random('randn', shape, options);
}
