/**
 * The webgpu backend: storages are pooled GPU buffers (bool as one u32 per
 * element), every op is one dispatch recorded into the runtime's shared
 * encoder, and data is seen only through the async `read`.
 * `initWebGpu()` acquires the device and registers the backend.
 */
import { type GpuRuntime, getRuntime, hostMemory, KilnError, parseBudget } from '@kiln/gpu-runtime';
import { type DeviceBackend, isTensorRef, registerBackend, type TensorRef } from '../backend';
import { allocArray, type DType, dtypeOfArray, type TypedArray } from '../dtype';
import { type GpuStorage, gpuBufferOf } from '../kernels/storage';
import { ELEMENTWISE, elementwiseTypes, helpersFor } from '../ops/elementwise';
import { contiguousView, isContiguous, numelOf, permute } from '../view';
import { type ElementwiseInput, runElementwise } from './elementwise-kernel';
import { runArange, runRandom } from './fill-kernels';
import { runGather } from './gather-kernel';
import { runMatmul } from './matmul-kernel';
import { runReduction } from './reduce-kernel';
import type { StridedOperand } from './strided-operand';

const ELEMENT_BYTES = 4; // f32, i32, and bool as u32

function operand(ref: TensorRef): StridedOperand {
  return { buffer: gpuBufferOf(ref.storage), dtype: ref.storage.dtype, ...ref.view };
}

export function webGpuBackend(rt: GpuRuntime): DeviceBackend {
  const wrap = (dtype: DType, numel: number, buffer: GPUBuffer): GpuStorage => ({
    device: 'webgpu',
    dtype,
    numel,
    bytes: numel * ELEMENT_BYTES,
    refs: 0,
    version: 0,
    buffer,
  });
  const alloc = (dtype: DType, numel: number) => wrap(dtype, numel, rt.alloc(Math.max(1, numel) * ELEMENT_BYTES));

  const backend: DeviceBackend = {
    device: 'webgpu',
    alloc,
    upload(data: TypedArray) {
      const dtype = dtypeOfArray(data);
      // bool is one byte per element on the host, one u32 on the device.
      const words = dtype === 'bool' ? Uint32Array.from(data) : data;
      return wrap(dtype, data.length, rt.upload(words));
    },
    free: (storage) => rt.release(gpuBufferOf(storage)),
    async read(src) {
      const n = numelOf(src.view.shape);
      const dtype = src.storage.dtype;
      let ref = src;
      let temp: GpuStorage | undefined;
      if (!isContiguous(src.view)) {
        temp = alloc(dtype, n);
        ref = { storage: temp, view: contiguousView(src.view.shape) };
        backend.elementwise('cast', [src], ref, elementwiseTypes('cast', [dtype], dtype));
      }
      try {
        const bytes = await rt.read(gpuBufferOf(ref.storage), ref.view.offset * ELEMENT_BYTES, n * ELEMENT_BYTES);
        if (dtype === 'float32') return new Float32Array(bytes);
        if (dtype === 'int32') return new Int32Array(bytes);
        const out = allocArray('bool', n);
        out.set(new Uint32Array(bytes));
        return out;
      } finally {
        if (temp) rt.release(temp.buffer);
      }
    },
    elementwise(op, inputs, out, types) {
      const spec = ELEMENTWISE[op];
      const sample = spec.wgsl(
        inputs.map((_, k) => `a${k}`),
        types.operand,
      );
      runElementwise(rt, {
        name: op,
        inputs: inputs.map((o): ElementwiseInput => (isTensorRef(o) ? operand(o) : { value: o.value, dtype: o.dtype })),
        computeDTypes: types.compute,
        resultDType: types.result,
        output: operand(out),
        expr: (args) => spec.wgsl(args, types.operand),
        helpers: helpersFor(sample, 'wgsl'),
      });
    },
    reduce(op, input, out, dims) {
      if (!isContiguous(out.view)) throw new KilnError('the output of a reduction must be contiguous', { op });
      // Reduced dims last (a view, no copy): each output element is one row.
      const rank = input.view.shape.length;
      const kept = [...Array(rank).keys()].filter((d) => !dims.includes(d));
      const view = permute(op, input.view, [...kept, ...dims]);
      runReduction(rt, { name: op, op, input: { ...operand(input), ...view }, outerRank: kept.length, output: operand(out) });
    },
    matmul: (a, b, out) => runMatmul(rt, { name: 'matmul', a: operand(a), b: operand(b), out: operand(out) }),
    gather: (input, index, out, dim, op) => runGather(rt, operand(input), operand(index), operand(out), dim, op),
    arange: (out, start, step) => runArange(rt, operand(out), start, step),
    random: (out, dist, seed, offset) => runRandom(rt, operand(out), dist, seed, offset),
  };
  return backend;
}

let ready: Promise<GpuRuntime> | undefined;

export interface WebGpuOptions {
  /**
   * Device bytes kiln's buffer pool may hold (tensors, compiled graphs'
   * buffers, staging; live and cached): bytes, or '512MiB', '2GiB', '25%' (of
   * host memory). Beyond it an allocation frees cached buffers, then throws
   * OutOfMemoryError. Default: KILN_GPU_MEMORY_BUDGET, else half the host's
   * memory. Also settable later as `runtime.memoryBudget`.
   */
  memoryBudget?: number | string;
}

/**
 * Acquires the shared WebGPU device and makes the 'webgpu' device usable.
 * Call (and await) once before creating webgpu tensors; later calls return
 * the same runtime (options given then apply to it). Rejects with a KilnError
 * saying why when there is no adapter.
 */
export function initWebGpu(options: WebGpuOptions = {}): Promise<GpuRuntime> {
  ready ??= getRuntime().then(
    (rt) => {
      registerBackend(webGpuBackend(rt));
      return rt;
    },
    (error: unknown) => {
      ready = undefined;
      throw error;
    },
  );
  if (options.memoryBudget === undefined) return ready;
  const budget = options.memoryBudget;
  return ready.then(async (rt) => {
    rt.pool.budget = parseBudget(budget, await hostMemory());
    return rt;
  });
}
