/**
 * Acceptance: the README's example and its promises, end to end
 * through the public packages (eager -> tracer -> inductor), on every device.
 */
import { F, manualSeed, randn, type Tensor, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { compile, explain } from '@kiln/tracer';
import { describe, expect, it } from 'vitest';

const devices = await devicesUnderTest();

async function expectClose(got: Tensor, want: Tensor): Promise<void> {
  expect(got.shape).toEqual(want.shape);
  const [g, w] = [await got.data(), await want.data()];
  for (let i = 0; i < w.length; i++) {
    // The correctness rule's float32 tolerance (docs/ARCHITECTURE.md): rtol 1e-4, atol 1e-5.
    expect(Math.abs(g[i]! - w[i]!), `element ${i}: ${g[i]} vs ${w[i]}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w[i]!));
  }
}

const mlp = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2);

/**
 * A pre-layernorm transformer block with causal attention (GPT-2's shape,
 * small sizes). Written as one function: a call into a helper the tracer
 * cannot read would make it keep every intermediate (the helper might).
 */
const block = (x: Tensor, p: Record<string, Tensor>): Tensor => {
  const heads = 4;
  const [T, C] = [x.shape[0]!, x.shape[1]!];
  const split = (t: Tensor) => t.reshape([T, heads, C / heads]).transpose(0, 1);
  const h = F.layerNorm(x, [C], p.ln1w, p.ln1b);
  const qkv = F.linear(h, p.wqkv!, p.bqkv);
  const [q, k, v] = [0, 1, 2].map((i) => split(qkv.slice(1, i * C, (i + 1) * C)));
  const att = F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).transpose(0, 1).reshape([T, C]);
  const x1 = x.add(F.linear(att, p.wo!, p.bo));
  const m = F.linear(F.gelu(F.linear(F.layerNorm(x1, [C], p.ln2w, p.ln2b), p.w1!, p.b1), { approximate: 'tanh' }), p.w2!, p.b2);
  return x1.add(m);
};

describe.each(devices)('acceptance on %s', (device) => {
  it("the README's MLP: compiled equals eager in 2 kernels (re-run: F is a free variable)", async () => {
    manualSeed(1);
    const args = [[8, 16], [32, 16], [32], [16, 32], [16]].map((s) => randn(s, { device })) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const fast = compile(mlp);
    for (let call = 0; call < 3; call++)
      await expectClose(
        fast(...args),
        tidy(() => mlp(...args)),
      );
    expect(fast.stats.recompiles).toEqual([]);
    const report = await explain(mlp)(...args);
    expect(report.graphCount).toBe(1);
    expect(report.graphBreakCount).toBe(0);
    expect(report.graphs[0]!.kernels).toHaveLength(2);
    // Without the load-time transform a free variable cannot be guarded, so the JS re-runs (cheaply) each call.
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toMatch(/free variables.*\bF\b/);
    expect(String(report)).toMatch(/fused_matmul/);
  });

  it('a GPT-2-style block compiles to fused kernels and equals eager', async () => {
    manualSeed(2);
    const [T, C] = [16, 32];
    const r = (...s: number[]) => randn(s, { device }).mul(0.2);
    const p: Record<string, Tensor> = {
      ln1w: r(C).add(1),
      ln1b: r(C),
      wqkv: r(3 * C, C),
      bqkv: r(3 * C),
      wo: r(C, C),
      bo: r(C),
      ln2w: r(C).add(1),
      ln2b: r(C),
      w1: r(4 * C, C),
      b1: r(4 * C),
      w2: r(C, 4 * C),
      b2: r(C),
    };
    const x = r(T, C);
    const fast = compile(block);
    await expectClose(
      fast(x, p),
      tidy(() => block(x, p)),
    );
    await expectClose(
      fast(x, p),
      tidy(() => block(x, p)),
    );
    const report = await explain(block)(x, p);
    const kernels = report.graphs.flatMap((g) => g.kernels);
    // 2 layerNorms, 4 linears with fused epilogues (bias, gelu, residuals), attention in 3, one head merge.
    expect(kernels.length, kernels.map((k) => k.name).join(', ')).toBeLessThanOrEqual(10);
    expect(report.opCount).toBeGreaterThan(2 * kernels.length);
    console.log(
      `GPT-2-style block on ${device}: ${report.opCount} ops -> ${kernels.length} kernels: ${kernels.map((k) => k.name).join(', ')}`,
    );
  });

  it('a data-dependent branch breaks the graph, is reported at its line, and stays right on both branches', async () => {
    const fn = async (x: Tensor) => {
      const s = await x.sum().item();
      return s > 0 ? x.mul(2) : x.neg();
    };
    const fast = compile(fn);
    for (const sign of [1, -1, 1]) {
      const x = randn([5], { device }).abs().mul(sign);
      await expectClose(await fast(x), await fn(x));
    }
    const report = await explain(fn)(randn([5], { device }));
    expect(report.graphBreakCount).toBe(1);
    expect(report.breakReasons[0]!.location).toMatch(/acceptance\.test\.ts:\d+:\d+/);
    await expect(compile(fn, { fullgraph: true })(randn([5], { device }))).rejects.toThrow(/acceptance\.test\.ts:\d+/);
  });
});
