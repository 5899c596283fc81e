/**
 * The JS target, for the cpu device: kernels as JavaScript functions
 * (./render-js) over eager's cpu typed arrays, run in order on the calling
 * thread, so a call's work is done when its kernels return.
 */
import { philoxFill, type Storage, type TypedArray } from '@kiln/eager';
import { hostDataOf, hostElementBytes, viewArray } from '@kiln/eager/kernels';
import { indexError } from '@kiln/gpu-runtime';
import type { GeneratedKernel } from '../../codegen/kernel';
import { type KernelOptions, type Target, type TargetKernel, timed } from '../target';
import { buildJs, type JsKernel, renderJs } from './render-js';

const failIndex: Parameters<JsKernel>[4] = (site, index, size) => {
  throw indexError(site, index, size);
};

/** The Philox stream for JS kernels: the same numbers as eager's cpu and webgpu kernels. */
const one = new Float32Array(1);
const cpuRandom: Parameters<JsKernel>[3] = (dist, lo, hi, seedLo, seedHi, index) => {
  philoxFill(one, dist === 0 ? 'uniform' : 'normal', seedLo + seedHi * 2 ** 32, lo + hi * 2 ** 32 + index);
  return one[0]!;
};

const JS_TARGET: Target<TypedArray> = {
  name: 'js',
  builds: 'functions',
  device: 'cpu',
  maxKernelBuffers: Number.POSITIVE_INFINITY,
  onlineSoftmax: false,
  compile(k: GeneratedKernel, options: KernelOptions): TargetKernel<TypedArray> {
    const source = renderJs(k, options.symCount);
    const { value: kernel, ms } = timed(() => buildJs(source));
    return { source, buildMs: ms, launch: (reads, writes, { words }) => kernel(reads, writes, words, cpuRandom, failIndex) };
  },
  bufferOf: (storage: Storage) => hostDataOf(storage),
  allocate(dtype, count, current) {
    // One ArrayBuffer per slot, grown as sizes need; each call views it as the dtype it holds then.
    const bytes = Math.max(16, count * hostElementBytes(dtype));
    const memory = current && current.buffer.byteLength >= bytes ? current.buffer : new ArrayBuffer(bytes);
    return viewArray(dtype, memory, 0, count);
  },
  release: () => {},
  run: (call) => call(),
};

/** The JS target (it holds no state: every compiled graph shares it). */
export const jsTarget = (): Target<TypedArray> => JS_TARGET;
