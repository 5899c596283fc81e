import { KilnError } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import { metaStorage } from '../memory';
import { gpuBufferOf, hostDataOf } from './storage';

describe('storage access', () => {
  it("hostDataOf gives a cpu storage's typed array; the wrong device or a symbolic storage is a KilnError naming it", () => {
    const t = tensor([1, 2, 3]);
    expect(Array.from(hostDataOf(t.storage))).toEqual([1, 2, 3]);
    expect(() => gpuBufferOf(t.storage)).toThrow(KilnError);
    expect(() => gpuBufferOf(t.storage)).toThrow(/expected a webgpu storage, got a cpu storage/);
    expect(() => hostDataOf(metaStorage('cpu', 'float32', 3))).toThrow(/symbolic storage/);
  });
});
