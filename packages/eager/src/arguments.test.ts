/**
 * Every public entry point rejects bad arguments with a KilnError that names
 * the op and the argument (and says what was given and what is accepted)
 * before any kernel runs, on every device; valid edge cases keep working.
 * Bad values reach the API from plain JS, so the calls below cast them past
 * the types (`as never`).
 */
import { describe, expect, it } from 'vitest';
import type { Device, Mode } from './index';
import {
  arange,
  cat,
  F,
  full,
  Graph,
  getDefaultDevice,
  KilnError,
  manualSeed,
  matmul,
  ones,
  rand,
  randn,
  setDefaultDevice,
  split,
  stack,
  type Tensor,
  tensor,
  where,
  withMode,
  zeros,
} from './index';
import { devicesUnderTest } from './testing/devices';

interface BadCall {
  /** What the call is, as the test's title. */
  readonly call: string;
  readonly run: (device: Device) => unknown;
  /** The op the message must start with. */
  readonly op: string;
  /** What else the message must contain: the argument, and where useful the value given or what is accepted. */
  readonly mentions: readonly string[];
}

const x23 = (device: Device) =>
  tensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    { device },
  );
const ints = (device: Device) => tensor([1, 2, 3], { dtype: 'int32', device });

const bad = (call: string, op: string, mentions: readonly string[], run: (device: Device) => unknown): BadCall => ({
  call,
  op,
  mentions,
  run,
});

const BAD_CALLS: readonly BadCall[] = [
  // Operands: a Tensor, or a JS number or boolean where the op takes scalars.
  bad('x.add([1, 2, 3])', 'add', ['input 1', '[1,2,3]', 'a Tensor, a number or a boolean'], (d) => x23(d).add([1, 2, 3] as never)),
  bad('x.add(null)', 'add', ['input 1', 'got null'], (d) => x23(d).add(null as never)),
  bad('x.add(undefined)', 'add', ['input 1', 'got undefined'], (d) => x23(d).add(undefined as never)),
  bad("x.add('1')", 'add', ['input 1', "got '1'"], (d) => x23(d).add('1' as never)),
  bad('x.mul({})', 'mul', ['input 1', 'got {}'], (d) => x23(d).mul({} as never)),
  bad('x.sub(1n)', 'sub', ['input 1', 'got 1n'], (d) => x23(d).sub(1n as never)),
  bad('x.maximum(tensor-like object)', 'maximum', ['input 1'], (d) => x23(d).maximum({ shape: [3], dtype: 'float32', device: d } as never)),
  bad("where(cond, x, 'a')", 'where', ['input 2', "got 'a'"], (d) => where(x23(d).gt(2), x23(d), 'a' as never)),
  bad("x.add_('1')", 'add_', ['input 1', "got '1'"], (d) => x23(d).add_('1' as never)),
  bad('x.mul_(null)', 'mul_', ['input 1', 'got null'], (d) => x23(d).mul_(null as never)),
  bad('x.matmul([[1]])', 'matmul', ['input 1', 'must be a Tensor', 'got [[1]]'], (d) => x23(d).matmul([[1]] as never)),
  bad('matmul(x, undefined)', 'matmul', ['input 1', 'got undefined'], (d) => matmul(x23(d), undefined as never)),
  bad('x.indexSelect(0, [0])', 'indexSelect', ['input 1', 'got [0]'], (d) => x23(d).indexSelect(0, [0] as never)),
  bad("F.relu('a')", 'relu', ['input 0', "got 'a'"], () => F.relu('a' as never)),
  bad('F.softmax(null, 0)', 'softmax', ['input 0', 'got null'], () => F.softmax(null as never, 0)),
  bad("cat([x, 'a'])", 'cat', ['input 1', "got 'a'"], (d) => cat([x23(d), 'a' as never])),
  bad('cat(x)', 'cat', ['tensors', 'a list of tensors', 'Tensor(float32[2,3]'], (d) => cat(x23(d) as never)),
  bad('stack(x)', 'stack', ['tensors', 'a list of tensors'], (d) => stack(x23(d) as never)),
  bad("split('x', 1)", 'split', ['input 0', "got 'x'"], () => split('x' as never, 1)),
  bad('F.layerNorm(x, [3], 0)', 'layerNorm', ['weight', 'got 0'], (d) => F.layerNorm(x23(d), [3], 0 as never)),
  bad("F.linear(x, w, 'b')", 'linear', ['bias', "got 'b'"], (d) => F.linear(x23(d), zeros([2, 3], { device: d }), 'b' as never)),
  bad('F.rmsNorm(x, [3], [1, 1, 1])', 'rmsNorm', ['weight', 'got [1,1,1]'], (d) => F.rmsNorm(x23(d), [3], [1, 1, 1] as never)),
  bad('F.scaledDotProductAttention(q, k, v, { attnMask: 1 })', 'scaledDotProductAttention', ['attnMask', 'got 1'], (d) =>
    F.scaledDotProductAttention(x23(d), x23(d), x23(d), { attnMask: 1 as never }),
  ),

  // Pow: an integer tensor to a negative integer scalar power (PyTorch's rule).
  bad('int32 x.pow(-1)', 'pow', ['negative integer powers', 'exponent -1', 'int32[3]'], (d) => ints(d).pow(-1)),
  bad('bool x.pow(-2)', 'pow', ['negative integer powers', 'exponent -2'], (d) => tensor([true, false], { device: d }).pow(-2)),

  // Creation: data, shapes, values, options.
  bad("tensor(['a'])", 'tensor', ['data', "got 'a'", 'data[0]'], (d) => tensor(['a'] as never, { device: d })),
  bad('tensor([undefined])', 'tensor', ['data', 'got undefined'], (d) => tensor([undefined] as never, { device: d })),
  bad('tensor([[1, 2], [3, null]])', 'tensor', ['data', 'got null', 'data[1][1]'], (d) =>
    tensor(
      [
        [1, 2],
        [3, null],
      ] as never,
      { device: d },
    ),
  ),
  bad('tensor(null)', 'tensor', ['data', 'got null'], (d) => tensor(null as never, { device: d })),
  bad('tensor(Int16Array)', 'tensor', ['data', 'Int16Array', 'Float32Array'], (d) => tensor(new Int16Array(2) as never, { device: d })),
  bad("tensor([1], { dtype: 'float64' })", 'tensor', ['dtype', "'float64'", "'float32', 'int32' or 'bool'"], (d) =>
    tensor([1], { dtype: 'float64' as never, device: d }),
  ),
  bad("tensor([1], 'webgpu')", 'tensor', ['options', "got 'webgpu'"], () => tensor([1], 'webgpu' as never)),
  bad("zeros([2], { dtype: 'float64' })", 'zeros', ['dtype', "got 'float64'"], (d) => zeros([2], { dtype: 'float64' as never, device: d })),
  bad("ones([2], { dtype: 'float16' })", 'ones', ['dtype', "got 'float16'"], (d) => ones([2], { dtype: 'float16' as never, device: d })),
  bad("zeros([2], { device: 'cuda' })", 'zeros', ['device', "got 'cuda'", "'cpu' or 'webgpu'"], () =>
    zeros([2], { device: 'cuda' as never }),
  ),
  bad('zeros([2], { devcie })', 'zeros', ["unknown option 'devcie'", 'dtype, device'], (d) => zeros([2], { devcie: d } as never)),
  bad('zeros(3)', 'zeros', ['shape', 'got 3', 'a list of non-negative integers'], (d) => zeros(3 as never, { device: d })),
  bad('zeros([2, 0.5])', 'zeros', ['shape', 'got [2,0.5]'], (d) => zeros([2, 0.5], { device: d })),
  bad("ones(['2'])", 'ones', ['shape', "got ['2']"], (d) => ones(['2'] as never, { device: d })),
  bad('zeros([2 ** 20, 2 ** 20])', 'zeros', ['shape [1048576,1048576]', '1099511627776 elements'], (d) =>
    zeros([2 ** 20, 2 ** 20], { device: d }),
  ),
  bad("full([2], 'a')", 'full', ['value', "got 'a'", 'a number or a boolean'], (d) => full([2], 'a' as never, { device: d })),
  bad('full([2], null)', 'full', ['value', 'got null'], (d) => full([2], null as never, { device: d })),
  bad("arange('5')", 'arange', ['end', "got '5'"], () => arange('5' as never)),
  bad('arange(0, NaN)', 'arange', ['end', 'got NaN'], (d) => arange(0, NaN, 1, { device: d })),
  bad('arange()', 'arange', ['end', 'got undefined'], () => (arange as () => Tensor)()),
  bad("arange(0, 4, 1, { dtype: 'bool' })", 'arange', ['dtype', "got 'bool'", "'float32' or 'int32'"], (d) =>
    arange(0, 4, 1, { dtype: 'bool', device: d }),
  ),
  bad('arange(0, 4, 1, null)', 'arange', ['options', 'got null'], () => arange(0, 4, 1, null as never)),
  bad('arange(2 ** 40)', 'arange', ['[1099511627776]', 'elements'], (d) => arange(2 ** 40, { device: d })),
  bad('rand([2, 1.5])', 'rand', ['shape', 'got [2,1.5]'], (d) => rand([2, 1.5], { device: d })),
  bad('randn([2], { dtype })', 'randn', ["unknown option 'dtype'", 'device'], (d) => randn([2], { dtype: 'float32', device: d } as never)),
  bad("setDefaultDevice('gpu')", 'setDefaultDevice', ['device', "got 'gpu'"], () => setDefaultDevice('gpu' as never)),
  bad("manualSeed('1')", 'manualSeed', ['seed must be', "got '1'"], () => manualSeed('1' as never)),

  // F: options and attributes.
  bad("F.gelu(x, { approximate: 'bogus' })", 'gelu', ['approximate', "got 'bogus'", "'none' or 'tanh'"], (d) =>
    F.gelu(x23(d), { approximate: 'bogus' as never }),
  ),
  bad("x.gelu({ approximate: 'exact' })", 'gelu', ['approximate', "got 'exact'"], (d) => x23(d).gelu({ approximate: 'exact' as never })),
  bad("F.gelu(x, 'tanh')", 'gelu', ['options', "got 'tanh'"], (d) => F.gelu(x23(d), 'tanh' as never)),
  bad('F.gelu(x, { approx })', 'gelu', ["unknown option 'approx'", 'approximate'], (d) => F.gelu(x23(d), { approx: 'tanh' } as never)),
  bad('F.softmax(x, 0.5)', 'softmax', ['dim', 'got 0.5', 'an integer'], (d) => F.softmax(x23(d), 0.5)),
  bad('F.softmax(x)', 'softmax', ['dim', 'got undefined'], (d) => (F.softmax as (x: Tensor) => Tensor)(x23(d))),
  bad("F.logSoftmax(x, '1')", 'logSoftmax', ['dim', "got '1'"], (d) => F.logSoftmax(x23(d), '1' as never)),
  bad("F.dropout(x, '0.5')", 'dropout', ['p', "got '0.5'", 'a number in [0, 1]'], (d) => F.dropout(x23(d), '0.5' as never)),
  bad('F.dropout(x, 0.5, 1)', 'dropout', ['training', 'got 1', 'true or false'], (d) => F.dropout(x23(d), 0.5, 1 as never)),
  bad('F.layerNorm(x, 3)', 'layerNorm', ['normalizedShape', 'got 3'], (d) => F.layerNorm(x23(d), 3 as never)),
  bad("F.layerNorm(x, [3], w, b, '1e-5')", 'layerNorm', ['eps', "got '1e-5'"], (d) =>
    F.layerNorm(x23(d), [3], undefined, undefined, '1e-5' as never),
  ),
  bad("F.rmsNorm(x, [3], undefined, '1e-6')", 'rmsNorm', ['eps', "got '1e-6'", 'a number or null'], (d) =>
    F.rmsNorm(x23(d), [3], undefined, '1e-6' as never),
  ),
  bad("F.crossEntropy(x, t, { reduction: 'avg' })", 'crossEntropy', ['reduction', "got 'avg'", "'mean', 'sum' or 'none'"], (d) =>
    F.crossEntropy(x23(d), tensor([0, 1], { dtype: 'int32', device: d }), { reduction: 'avg' as never }),
  ),
  bad('F.scaledDotProductAttention(q, k, v, { isCausal: 1 })', 'scaledDotProductAttention', ['isCausal', 'got 1'], (d) =>
    F.scaledDotProductAttention(x23(d), x23(d), x23(d), { isCausal: 1 as never }),
  ),
  bad("F.scaledDotProductAttention(q, k, v, { scale: '2' })", 'scaledDotProductAttention', ['scale', "got '2'"], (d) =>
    F.scaledDotProductAttention(x23(d), x23(d), x23(d), { scale: '2' as never }),
  ),
  bad('F.scaledDotProductAttention(q, k, v, { causal: true })', 'scaledDotProductAttention', ["unknown option 'causal'"], (d) =>
    F.scaledDotProductAttention(x23(d), x23(d), x23(d), { causal: true } as never),
  ),

  // Reductions: dim and keepdim.
  bad('x.sum({ dim: -1, keepdim: true })', 'sum', ['dim', 'got {dim: -1, keepdim: true}', 'an integer, a list of integers or null'], (d) =>
    x23(d).sum({ dim: -1, keepdim: true } as never),
  ),
  bad('x.sum(0.5)', 'sum', ['dim', 'got 0.5'], (d) => x23(d).sum(0.5)),
  bad("x.mean('0')", 'mean', ['dim', "got '0'"], (d) => x23(d).mean('0' as never)),
  bad('x.max([0, 0.5])', 'max', ['dim', 'got [0,0.5]'], (d) => x23(d).max([0, 0.5])),
  bad("x.sum(0, 'yes')", 'sum', ['keepdim', "got 'yes'", 'true or false'], (d) => x23(d).sum(0, 'yes' as never)),
  bad('x.argmax(null, 1)', 'argmax', ['keepdim', 'got 1'], (d) => x23(d).argmax(null, 1 as never)),
  bad("x.var(0, false, '1')", 'var', ['correction', "got '1'"], (d) => x23(d).var(0, false, '1' as never)),
  bad('x.logsumexp(true)', 'logsumexp', ['dim', 'got true'], (d) => x23(d).logsumexp(true as never)),

  // Shape ops: sizes, dims, slice bounds.
  bad('x.reshape([2, 1.5])', 'reshape', ['shape', 'got [2,1.5]'], (d) => x23(d).reshape([2, 1.5])),
  bad("x.reshape('6')", 'reshape', ['shape', "got ['6']"], (d) => x23(d).reshape('6' as never)),
  bad('x.reshape(null)', 'reshape', ['shape', 'got null'], (d) => x23(d).reshape(null as never)),
  bad('x.reshape([3, 2], 1)', 'reshape', ['shape', 'got [[3,2],1]'], (d) => x23(d).reshape([3, 2] as never, 1 as never)),
  bad('x.view(6, undefined)', 'view', ['shape', 'got [6,undefined]'], (d) => x23(d).view(6, undefined as never)),
  bad("x.expand([2, 'a'])", 'expand', ['shape', "got [2,'a']"], (d) => x23(d).expand([2, 'a'] as never)),
  bad('x.permute([1, 0.5])', 'permute', ['dims', 'got [1,0.5]'], (d) => x23(d).permute([1, 0.5])),
  bad('x.transpose(0)', 'transpose', ['dim1', 'got undefined'], (d) => (x23(d).transpose as (a: number) => Tensor)(0)),
  bad('x.unsqueeze(0.5)', 'unsqueeze', ['dim', 'got 0.5'], (d) => x23(d).unsqueeze(0.5)),
  bad("x.squeeze('0')", 'squeeze', ['dim', "got '0'"], (d) => x23(d).squeeze('0' as never)),
  bad('x.flatten(0, 1.5)', 'flatten', ['endDim', 'got 1.5'], (d) => x23(d).flatten(0, 1.5)),
  bad('x.slice(0, 0.5, 2.5)', 'slice', ['start', 'got 0.5', 'an integer or ±Infinity'], (d) => x23(d).slice(0, 0.5, 2.5)),
  bad('x.slice(1, 0, 2.5)', 'slice', ['end', 'got 2.5'], (d) => x23(d).slice(1, 0, 2.5)),
  bad("x.slice(1, 0, '2')", 'slice', ['end', "got '2'"], (d) => x23(d).slice(1, 0, '2' as never)),
  bad('x.slice(0)', 'slice', ['start', 'got undefined'], (d) => (x23(d).slice as (dim: number) => Tensor)(0)),
  bad('x.slice(0.5, 0)', 'slice', ['dim', 'got 0.5'], (d) => x23(d).slice(0.5, 0)),
  bad('x.slice(1, NaN)', 'slice', ['start', 'got NaN'], (d) => x23(d).slice(1, NaN)),
  bad('split(x, [1, 0.5, 0.5], 1)', 'split', ['sizes', 'got [1,0.5,0.5]'], (d) => split(x23(d), [1, 0.5, 0.5], 1)),
  bad("x.split(1, '1')", 'split', ['dim', "got '1'"], (d) => x23(d).split(1, '1' as never)),
  bad('cat([x, x], 0.5)', 'cat', ['dim', 'got 0.5'], (d) => cat([x23(d), x23(d)], 0.5)),
  bad("stack([x, x], '0')", 'stack', ['dim', "got '0'"], (d) => stack([x23(d), x23(d)], '0' as never)),
  bad('x.gather(0.5, index)', 'gather', ['dim', 'got 0.5'], (d) => x23(d).gather(0.5, tensor([[0]], { dtype: 'int32', device: d }))),
  bad("x.indexSelect('0', index)", 'indexSelect', ['dim', "got '0'"], (d) =>
    x23(d).indexSelect('0' as never, tensor([0], { dtype: 'int32', device: d })),
  ),

  // dtypes, devices, values of the Tensor methods.
  bad("x.cast('float64')", 'cast', ['dtype', "got 'float64'"], (d) => x23(d).cast('float64' as never)),
  bad("x.to('cuda')", 'to', ['target', "got 'cuda'"], (d) => x23(d).to('cuda' as never)),
  bad("x.fill_('1')", 'fill_', ['value', "got '1'"], (d) => x23(d).fill_('1' as never)),
  bad("x.clamp('0')", 'clamp', ['min', "got '0'"], (d) => x23(d).clamp('0' as never)),
  bad('x.clamp(0, [1])', 'clamp', ['max', 'got [1]'], (d) => x23(d).clamp(0, [1] as never)),
];

describe.each(await devicesUnderTest())('bad arguments on %s', (device) => {
  it.each(BAD_CALLS.map((c) => [c.call, c] as const))('%s throws a KilnError naming the op and the argument', (_, c) => {
    let error: unknown;
    try {
      c.run(device);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KilnError);
    const message = (error as Error).message;
    expect(message.startsWith(`${c.op}: `), message).toBe(true);
    for (const m of c.mentions) expect(message).toContain(m);
  });

  it('rejects before a mode (a tracer) sees the op, and when a graph is built', () => {
    const seen: string[] = [];
    const recorder: Mode = {
      call: (op) => {
        seen.push(op);
        return x23(device);
      },
    };
    expect(() => withMode(recorder, () => F.gelu(x23(device), { approximate: 'bogus' as never }))).toThrow(
      "gelu: approximate must be 'none' or 'tanh'",
    );
    expect(() => withMode(recorder, () => x23(device).add('1' as never))).toThrow('add: input 1 must be a Tensor');
    expect(seen).toEqual([]);
    const g = new Graph();
    const x = g.placeholder('x', { shape: [2, 3], dtype: 'float32', device });
    expect(() => g.call('slice', [x], { dim: 0, start: 0.5, end: 2, step: 1 })).toThrow(
      'slice: start must be an integer or ±Infinity, got 0.5',
    );
  });

  it('leaves the default device alone when setDefaultDevice is refused', () => {
    const before = getDefaultDevice();
    expect(() => setDefaultDevice('gpu' as never)).toThrow(KilnError);
    expect(getDefaultDevice()).toBe(before);
  });
});

describe.each(await devicesUnderTest())('valid edge cases on %s', (device) => {
  const x = () => x23(device);

  it('takes booleans, NaN and ±Infinity as scalars', async () => {
    expect(await x().add(true).toArray()).toEqual([
      [2, 3, 4],
      [5, 6, 7],
    ]);
    expect(await ints(device).mul(false).toArray()).toEqual([0, 0, 0]);
    expect(await tensor([true], { device }).add(true).toArray()).toEqual([true]);
    expect(await where(x().gt(2), true, 0).toArray()).toEqual([
      [0, 0, 1],
      [1, 1, 1],
    ]);
    expect(await x().minimum(Infinity).maximum(-Infinity).sum().item()).toBe(21);
    expect(await x().slice(0, 0, 1).add(NaN).toArray()).toEqual([[NaN, NaN, NaN]]);
    expect(await full([2], true, { device }).toArray()).toEqual([true, true]);
    expect(await x().fill_(false).sum().item()).toBe(0);
  });

  it('takes negative dims, dim lists and null for every dim', async () => {
    expect(await x().sum(-1).toArray()).toEqual([6, 15]);
    expect(await x().sum(-1, true).toArray()).toEqual([[6], [15]]);
    expect(await x().sum([0, -1]).item()).toBe(21);
    expect(await x().max(null, true).toArray()).toEqual([[6]]);
    expect(await x().mean(undefined).item()).toBe(3.5);
    expect(await x().squeeze().unsqueeze(-1).squeeze(-1).transpose(-1, -2).flatten(-2, -1).toArray()).toEqual([1, 4, 2, 5, 3, 6]);
    expect(await F.softmax(x(), -1).sum(-1).toArray()).toEqual([expect.closeTo(1, 6), expect.closeTo(1, 6)]);
  });

  it('slices with negative, out-of-range and infinite bounds like Python', async () => {
    expect(await x().slice(1, -2).toArray()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    expect(await x().slice(1, -5, -1).toArray()).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(await x().slice(1, 0, Infinity, 2).toArray()).toEqual([
      [1, 3],
      [4, 6],
    ]);
    expect(await x().slice(0, -Infinity, 10).toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await x().slice(-1, 5, Infinity).toArray()).toEqual([[], []]);
  });

  it('takes -1 in target shapes and shapes as arrays or numbers', async () => {
    expect(x().reshape(-1).shape).toEqual([6]);
    expect(x().reshape([3, -1]).shape).toEqual([3, 2]);
    expect(x().view(1, 2, -1).shape).toEqual([1, 2, 3]);
    expect(x().unsqueeze(0).expand(4, -1, -1).shape).toEqual([4, 2, 3]);
    expect(x().sum().reshape().shape).toEqual([]);
    expect(zeros([0, 3], { device }).shape).toEqual([0, 3]);
    expect(tensor(5, { device }).shape).toEqual([]);
  });

  it('follows PyTorch for integer pow: non-negative and tensor exponents, float exponents promote', async () => {
    expect(await ints(device).pow(2).toArray()).toEqual([1, 4, 9]);
    expect(await ints(device).pow(0).toArray()).toEqual([1, 1, 1]);
    expect(
      await ints(device)
        .pow(tensor([-1, -1, 2], { dtype: 'int32', device }))
        .toArray(),
    ).toEqual([1, 0, 9]);
    const half = ints(device).pow(-0.5);
    expect(half.dtype).toBe('float32');
    expect(await half.toArray()).toEqual([1, expect.closeTo(Math.SQRT1_2, 6), expect.closeTo(1 / Math.sqrt(3), 6)]);
    expect(await x().pow(-1).slice(1, 0, 1).toArray()).toEqual([[1], [0.25]]);
  });

  it('accepts omitted and null options, typed arrays and mixed booleans and numbers', async () => {
    expect(await arange(0, 5, undefined, { device }).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect((await arange(3, { dtype: 'float32', device })).dtype).toBe('float32');
    expect(await tensor(new Float64Array([1.5]), { device }).toArray()).toEqual([1.5]);
    expect(await tensor([true, 2], { device }).toArray()).toEqual([1, 2]);
    expect(F.layerNorm(x(), [3], null as never, null as never).shape).toEqual([2, 3]);
    expect(F.gelu(x(), { approximate: 'tanh' }).shape).toEqual([2, 3]);
    expect(F.gelu(x(), {}).shape).toEqual([2, 3]);
    expect(F.dropout(x(), 0, false).shape).toEqual([2, 3]);
    expect(
      x()
        .split([1, 0, 2], 1)
        .map((t) => t.shape),
    ).toEqual([
      [2, 1],
      [2, 0],
      [2, 2],
    ]);
    manualSeed(0);
    expect(rand([2], { device }).shape).toEqual([2]);
  });
});
