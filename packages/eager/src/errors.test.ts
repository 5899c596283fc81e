/** Every misuse throws a KilnError that names the op and the shapes (or what was wrong). */
import { KilnError } from '@kiln/gpu-runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeviceBackend, Storage } from './backend';
import { registerBackend } from './backend';
import { cpuBackend } from './backend-cpu';
import { arange, full, tensor, zeros } from './creation';
import { F } from './functional';
import { cat, matmul, where } from './functions';

/** A second device for the mixing test: the cpu kernels behind storages labelled 'webgpu'. */
const relabel = (s: Storage, device: 'cpu' | 'webgpu'): Storage => ({ ...s, device });
const fakeGpu: DeviceBackend = {
  ...cpuBackend,
  device: 'webgpu',
  alloc: (dtype, n) => relabel(cpuBackend.alloc(dtype, n), 'webgpu'),
  upload: (data) => relabel(cpuBackend.upload(data), 'webgpu'),
  // Freed when the garbage collector takes a tensor: the cpu backend's free takes cpu storages only.
  free: (s) => cpuBackend.free(relabel(s, 'cpu')),
  readSync: undefined,
};

function expectKilnError(f: () => unknown, message: string | RegExp): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(KilnError);
  expect((error as Error).message).toMatch(message);
}

const x23 = () =>
  tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);

describe('errors', () => {
  beforeAll(() => registerBackend(fakeGpu));

  it('incompatible broadcast names the op and both shapes', () => {
    expectKilnError(() => x23().add(tensor([1, 2, 3, 4])), 'add: cannot broadcast shapes [2,3] and [4]');
    expectKilnError(() => where(tensor([true, false]), x23(), 0), 'where: cannot broadcast shapes [2] and [2,3]');
    expectKilnError(() => x23().expand([4, 3]), 'expand: cannot expand shape [2,3] to [4,3]');
  });

  it('matmul inner-dim mismatch names both shapes', () => {
    expectKilnError(() => matmul(x23(), zeros([4, 5])), 'matmul: inner dimensions do not match: [2,3] @ [4,5] (3 != 4)');
    expectKilnError(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 1])), 'matmul: batch dims do not broadcast: [2,2,3] @ [3,3,1]');
    expectKilnError(() => F.linear(zeros([4, 5]), zeros([3, 6])), 'linear: input float32[4,5] does not match weight float32[3,6]');
  });

  it('dim out of range names the dim and the rank', () => {
    expectKilnError(() => x23().sum(2), 'sum: dim 2 is out of range for a tensor of rank 2 (expected -2..1)');
    expectKilnError(() => x23().softmax(-3), 'softmax: dim -3 is out of range for a tensor of rank 2');
    expectKilnError(() => x23().transpose(0, 5), 'transpose: dim 5 is out of range for a tensor of rank 2');
    expectKilnError(() => x23().max([0, -2]), 'max: dim 0 appears more than once');
  });

  it('reshape size mismatch names both shapes and the count', () => {
    expectKilnError(() => x23().reshape([4, 2]), 'reshape: cannot reshape a tensor of shape [2,3] (6 elements) to [4,2]');
    expectKilnError(() => x23().view(-1, -1), 'view: cannot reshape a tensor of shape [2,3] (6 elements) to [-1,-1]');
    expectKilnError(
      () => x23().transpose(0, 1).view(6),
      'view: a tensor of shape [3,2] and strides [1,3] cannot be viewed as [6] without a copy; use reshape',
    );
  });

  it('mixing devices names each input and its device', () => {
    const gpu = tensor([1, 2, 3], { device: 'webgpu' });
    expectKilnError(
      () => gpu.add(tensor([1, 2, 3])),
      'add: expected all tensors on one device, got float32[3] on webgpu (input 0), float32[3] on cpu (input 1)',
    );
    expectKilnError(() => gpu.to('cpu'), 'to: Tensor(float32[3], webgpu) cannot be moved to cpu synchronously');
    gpu.dispose();
  });

  it('item() on many elements names the shape and count', async () => {
    // Thrown at the call, so it is never an unhandled rejection of a promise nobody awaited.
    expect(() => x23().item()).toThrow('item: expected a tensor with one element, got float32[2,3] (6 elements)');
    expect(await tensor([[7]]).item()).toBe(7);
  });

  it('use after dispose names the op and the tensor', async () => {
    const x = x23();
    const v = x.slice(1, 0, 2);
    x.dispose();
    x.dispose(); // idempotent
    expectKilnError(() => x.add(1), 'add: input 0, Tensor(float32[2,3], cpu, disposed), was disposed');
    await expect(x.data()).rejects.toThrow('data: Tensor(float32[2,3], cpu, disposed) was disposed');
    expect(await v.toArray()).toEqual([
      [1, 2],
      [4, 5],
    ]); // the view still holds the storage
  });

  it('wrong dtypes name the op, the argument and what was expected', () => {
    expectKilnError(() => x23().gather(1, tensor([[0], [1]])), 'gather: index must be int32, got float32[2,1]');
    expectKilnError(() => where(x23(), 1, 0), 'where: condition must be bool, got float32[2,3]');
    expectKilnError(() => F.crossEntropy(x23(), tensor([0, 1])), 'crossEntropy: targets must be int32, got float32[2]');
    expectKilnError(() => F.embedding(tensor([0, 1]), zeros([3, 2])), 'embedding: indices must be int32, got float32[2]');
    expectKilnError(
      () => matmul(x23(), zeros([3, 2], { dtype: 'int32' })),
      'matmul: expected both operands to have the same dtype, got float32[2,3] and int32[3,2]',
    );
    expectKilnError(() => tensor([true]).sub(tensor([false])), 'sub: is not supported on bool tensors');
    expectKilnError(
      () => zeros([2], { dtype: 'int32' }).add_(0.5),
      'add_: the result float32[2] cannot be written into Tensor(int32[2], cpu)',
    );
  });

  it('other misuse', () => {
    expectKilnError(() => zeros([0, 3]).max(0), 'max: cannot reduce over dim 0 of size 0 of float32[0,3]: the op has no identity');
    expectKilnError(() => x23().gather(1, tensor([[3]], { dtype: 'int32' })), 'gather: index 3 is out of range for dim 1 of size 3');
    expectKilnError(
      () => cat([x23(), zeros([2, 2])], 0),
      'cat: tensors must match except in dim 0: float32[2,3] (input 0) vs float32[2,2] (input 1)',
    );
    expectKilnError(
      () => zeros([3]).expand([2, 3]).fill_(1),
      'fill_: cannot write into Tensor(float32[2,3], cpu): it is a broadcast (expanded) view',
    );
    expectKilnError(() => arange(0, 5, -1), 'arange: cannot go from 0 to 5 in steps of -1');
    expectKilnError(() => x23().slice(0, 0, 2, 0), 'slice: step must be a positive integer, got 0');
    expectKilnError(() => tensor([[1, 2], [3]]), 'tensor: ragged nested arrays: expected length 2 at depth 1');
    expectKilnError(() => full([2, -1], 0), 'full: shape must be a list of non-negative integers, got [2,-1]');
    expectKilnError(() => x23().split([1, 2], 0), 'split: sizes [1,2] do not add up to 2, the size of dim 0');
    expectKilnError(() => F.layerNorm(x23(), [2]), 'layerNorm: normalizedShape [2] does not match the trailing dims of float32[2,3]');
    expectKilnError(
      () => F.scaledDotProductAttention(zeros([2, 3]), zeros([4, 3]), zeros([5, 3])),
      'scaledDotProductAttention: expected q [..., L, E], k [..., S, E], v [..., S, Ev]',
    );
    expectKilnError(() => `${x23()}${Number(x23())}`, 'toPrimitive: Tensor(float32[2,3], cpu) cannot be read synchronously');
  });
});
