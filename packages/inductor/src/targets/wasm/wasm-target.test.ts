import { cat, F, runGraph, type Tensor, tensor, tidy } from '@kiln/eager';
import { CPU_TARGET_ENV, hostDataOf, sharedArena } from '@kiln/eager/kernels';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileWasm, expectEager } from '../../testing/compile-wasm';
import { record } from '../../testing/record';
import { targetFor } from '../registry';

/** `n` values cycling through specials and ordinary numbers of both signs. */
const values = (n: number, seed: number) =>
  Array.from(
    { length: n },
    (_, i) => [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1.5, -2.25, 0.3][(i * seed) % 8]! * (1 + i / n),
  );

describe('the wasm target', () => {
  it('runs pointwise kernels as wasm over contiguous, broadcast and strided inputs, equal to eager with NaN, ±Inf and -0', async () => {
    // 5 x 7: 35 elements, so the f32x4 loop and the scalar tail both run.
    const fn = (x: Tensor, b: Tensor, s: Tensor, t: Tensor) => [
      x.mul(b).add(s).sub(t.transpose(0, 1)).relu().maximum(x.div(b)),
      x.exp().where(x.gt(0), x.tanh().sigmoid()).add(x.erf().mul(x.log())),
      x.minimum(t.transpose(0, 1)).sqrt().neg().abs().rsqrt().floor(),
      // sin, cos and pow call the host per lane (eager's own functions); sign keeps ±0 and NaN.
      x
        .mul(1e4)
        .sin()
        .add(t.transpose(0, 1).cos())
        .mul(x.sign())
        .add(x.sign())
        .add(x.pow(t.transpose(0, 1)).mul(b.pow(2))),
    ];
    const graph = record(
      [[5, 7], [7], [1], [7, 5]].map((shape) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const })),
      fn,
    );
    const compiled = compileWasm(graph);
    expect(compiled.target.name).toBe('wasm');
    expect(compiled.kernels.every((k) => k.kind === 'pointwise' && k.fallback === undefined)).toBe(true);
    const sources = compiled.kernels.map((k) => k.source).join('\n');
    for (const access of ['contiguous', 'uniform', 'gather']) expect(sources).toContain(access);
    const inputs = [
      tensor(values(35, 3)).reshape([5, 7]),
      tensor([0.5, -1, 2, -0, 3, Number.NaN, 0.25]),
      tensor([-0.75]),
      tensor(values(35, 5)).reshape([7, 5]),
    ];
    await expectEager(compiled, graph, inputs);
    // A second call reuses the modules and the planned buffers.
    await expectEager(compiled, graph, inputs);
    const [got, want] = [compiled.run(inputs), tidy(() => runGraph(graph, inputs))];
    expect([...(await got[3]!.data())]).toEqual([...(await want[3]!.data())]);
  });

  it('runs index comparisons as lane masks: cat along rows and columns', async () => {
    // [6, 7] and [6, 5]: rows of 12 switch inputs inside an f32x4 step, and the kernel ends in a scalar tail.
    const fn = (x: Tensor, y: Tensor) => [cat([x.exp(), y.mul(2)], 1), cat([x.slice(1, 0, 5), y.neg()], 0).add(1)];
    const graph = record(
      [
        [6, 7],
        [6, 5],
      ].map((shape) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const })),
      fn,
    );
    const compiled = compileWasm(graph);
    expect(compiled.kernels.map((k) => k.fallback)).toEqual(compiled.kernels.map(() => undefined));
    await expectEager(compiled, graph, [tensor(values(42, 3)).reshape([6, 7]), tensor(values(30, 5)).reshape([6, 5])]);
  });

  it('runs row kernels as wasm: reductions with epilogues, softmax, layerNorm, rows along a strided dim', async () => {
    // Rows of 9 (two f32x4 steps and a tail); one row holds NaN, one -Inf only, one +Inf.
    const fn = (x: Tensor, w: Tensor, b: Tensor) => [
      x.softmax(-1),
      F.layerNorm(x.mul(0.5), [9], w, b),
      x.sum(1, true).add(x.max(1, true)).mul(x),
      x.mean(0).sub(x.min(0)),
      F.logSoftmax(x.exp(), -1),
    ];
    const graph = record(
      [[6, 9], [9], [9]].map((shape) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const })),
      fn,
    );
    const compiled = compileWasm(graph);
    expect(compiled.kernels.filter((k) => k.kind === 'rows').length).toBeGreaterThanOrEqual(4);
    // On a CPU the exp is the cost: softmax keeps its exp(x - max) from the sum's pass for the write (one exp per element).
    expect(compiled.schedule.decisions.join('\n')).toMatch(/reuse in softmax/);
    expect(compiled.schedule.decisions.join('\n')).not.toMatch(/online softmax/);
    expect(compiled.kernels.map((k) => k.fallback)).toEqual(compiled.kernels.map(() => undefined));
    expect(compiled.kernels.map((k) => k.source).join('\n')).toContain('gather');
    const rows = Array.from({ length: 54 }, (_, i) => Math.sin(i * 1.7) * 3);
    rows[4] = Number.NaN;
    for (let i = 9; i < 18; i++) rows[i] = Number.NEGATIVE_INFINITY;
    rows[20] = Number.POSITIVE_INFINITY;
    const inputs = [tensor(rows).reshape([6, 9]), tensor(values(9, 3).map((v) => (Number.isFinite(v) ? v : 1))), tensor(values(9, 5))];
    await expectEager(compiled, graph, inputs);
  });

  it('sums rows in doubles, as eager: no float32 overflow, no loss where a long row cancels', async () => {
    const graph = record([{ shape: [3, 4099], dtype: 'float32', device: 'cpu' }], (x) => x.sum(1));
    const compiled = compileWasm(graph);
    expect(compiled.kernels[0]!.fallback).toBeUndefined();
    // Row 0: ±2e38 at positions that fall in the same lane (float32 lanes overflow; eager's doubles give 0); rows 1, 2 cancel over 4099.
    const rows = Array.from({ length: 3 * 4099 }, (_, i) => (i < 4099 ? 0 : Math.sin(i * 0.731) * 1000));
    for (const at of [0, 4, 8, 12]) [rows[at], rows[at + 1]] = [2e38, -2e38];
    const x = tensor(rows).reshape([3, 4099]);
    await expectEager(compiled, graph, [x]);
    const [got, want] = [await compiled.run([x])[0]!.data(), await tidy(() => runGraph(graph, [x]))[0]!.data()];
    expect([...got]).toEqual([...want]);
  });

  it('runs matmuls as wasm: transposed and broadcast operands, batches, K and M past one block, epilogues', async () => {
    const fn = (x: Tensor, w: Tensor, b: Tensor, q: Tensor, k: Tensor, big: Tensor, y: Tensor) => [
      F.gelu(F.linear(x, w, b)).add(x.sum(1, true)),
      q.matmul(k.transpose(-2, -1)).mul(0.5),
      q.matmul(y),
      big.transpose(0, 1).matmul(big),
    ];
    const shapes = [[13, 300], [17, 300], [17], [2, 3, 5, 7], [2, 3, 9, 7], [130, 11], [7, 10]];
    const graph = record(
      shapes.map((shape) => ({ shape, dtype: 'float32' as const, device: 'cpu' as const })),
      fn,
    );
    const compiled = compileWasm(graph);
    expect(compiled.kernels.filter((k) => k.kind === 'matmul').length).toBe(4);
    expect(compiled.kernels.map((k) => k.fallback)).toEqual(compiled.kernels.map(() => undefined));
    const inputs = shapes.map((shape, n) => {
      const count = shape.reduce((a, b) => a * b, 1);
      return tensor(Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + n))).reshape(shape);
    });
    await expectEager(compiled, graph, inputs);
    const special = inputs.slice();
    special[0] = tensor(values(13 * 300, 7).map((v, i) => (i < 600 ? v : Math.cos(i)))).reshape([13, 300]);
    await expectEager(compiled, graph, special);
    // A plain matmul is eager's own gemm: the same bits.
    const [got, want] = [compiled.run(inputs), tidy(() => runGraph(graph, inputs))];
    for (const k of [2, 3]) expect([...(await got[k]!.data())]).toEqual([...(await want[k]!.data())]);
  });

  it('reads and writes storages and planned buffers that live in the arena where they are, wasm and JS kernels alike', async () => {
    // [160, 128]: 20480 floats, past the size from which cpu float32 storages live in the arena.
    const graph = record(
      [
        { shape: [160, 128], dtype: 'float32', device: 'cpu' },
        { shape: [128, 128], dtype: 'float32', device: 'cpu' },
      ],
      (x, w) => {
        const h = x.matmul(w).softmax(-1);
        // int32 arithmetic runs as JS, between wasm kernels, on the same planned buffers.
        const p = h.mul(50).cast('int32').mul(x.sign().cast('int32')).cast('float32');
        return [p.add(h).relu(), h.sum(1), x.matmul(p.transpose(0, 1)).mul(0.01)];
      },
    );
    const compiled = compileWasm(graph);
    expect(compiled.kernels.some((k) => k.fallback)).toBe(true);
    const inputs = [
      tensor(Array.from({ length: 160 * 128 }, (_, i) => Math.sin(i * 0.37))).reshape([160, 128]),
      tensor(Array.from({ length: 128 * 128 }, (_, i) => Math.cos(i * 0.11) * 0.2)).reshape([128, 128]),
    ];
    const arena = sharedArena();
    for (const t of inputs) expect(arena.owns(hostDataOf(t.storage))).toBe(true);
    await expectEager(compiled, graph, inputs);
    // Again, on the buffers the first call left (and other values in them).
    await expectEager(compiled, graph, [inputs[0]!.mul(-0.5), inputs[1]!]);
    const outs = compiled.run(inputs);
    expect(outs.map((t) => arena.owns(hostDataOf(t.storage)))).toEqual([true, false, true]);
  });

  it('hands kernels it cannot spell to the JS target, per kernel, and says why', async () => {
    // int32 arithmetic has no vector form yet: its kernel runs as JS, between wasm kernels that read and write the same buffers.
    const graph = record([{ shape: [3, 6], dtype: 'float32', device: 'cpu' }], (x) => {
      const y = x.mul(2).add(1);
      const z = y.cast('int32').mul(x.cast('int32')).cast('float32').mul(y);
      return [z, z.add(y).exp().sum(1)];
    });
    const compiled = compileWasm(graph);
    const fallbacks = compiled.kernels.map((k) => k.fallback);
    expect(fallbacks).toContainEqual({ target: 'js', reason: 'cast on int32 has no vector form' });
    expect(fallbacks).toContain(undefined);
    await expectEager(compiled, graph, [tensor(values(18, 3)).reshape([3, 6])]);
  });
});

describe('the cpu target', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is wasm where the engine has WebAssembly SIMD (Node has), unless KILN_CPU_TARGET names js or wasm', () => {
    vi.stubEnv(CPU_TARGET_ENV, undefined);
    expect(targetFor('cpu').name).toBe('wasm');
    vi.stubEnv(CPU_TARGET_ENV, 'js');
    expect(targetFor('cpu').name).toBe('js');
    vi.stubEnv(CPU_TARGET_ENV, 'wasm');
    expect(targetFor('cpu').name).toBe('wasm');
    vi.stubEnv(CPU_TARGET_ENV, 'wasn');
    expect(() => targetFor('cpu')).toThrow("KILN_CPU_TARGET must be js or wasm, got 'wasn'");
  });
});
