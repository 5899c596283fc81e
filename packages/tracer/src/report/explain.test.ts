import type { Tensor } from '@kiln/eager';
import { F, randn, tensor } from '@kiln/eager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompileCounter, compile, disable, explain } from '../index';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  delete process.env.KILN_LOGS;
});

const helper = disable((t: Tensor) => t.abs());

describe('explain', () => {
  it('reports graphs, ops, kernels, guards, mode and compile time for a replayed function', async () => {
    const report = await explain((x: Tensor, y: Tensor) => x.mul(y).add(1).relu())(tensor([[1, 2]]), tensor([[3, 4]]));
    expect(report).toMatchObject({ graphCount: 1, graphBreakCount: 0, opCount: 3, mode: 'replay', breakReasons: [] });
    expect(report.graphs[0]!.ops).toEqual(['mul', 'add', 'relu']);
    expect(report.graphs[0]!.kernels.length).toBeGreaterThanOrEqual(1);
    expect(report.graphs[0]!.kernels[0]!.fusedOps).toEqual(expect.arrayContaining(['mul', 'add', 'relu']));
    expect(report.graphs[0]!.kernels[0]!.source).toContain('for');
    expect(report.guards).toContain('x.shape[1] == 2');
    expect(report.compileMs).toBeGreaterThan(0);
    // The first call's compile time by stage (cpu here: wasm modules, or JS functions where KILN_CPU_TARGET=js).
    expect(report.graphs[0]!.compileStages).toMatch(
      /^lower [\d.]+ ms, schedule [\d.]+ ms, render [\d.]+ ms, (modules|functions) [\d.]+ ms$/,
    );
    expect(report.graphs[0]!.traceMs).toEqual(expect.any(Number));
    const text = report.toString();
    expect(text).toMatch(/traced in [\d.]+ ms, compiled in [\d.]+ ms: lower/);
    expect(text).toContain('1 graph, 0 graph breaks, 3 ops');
    expect(text).toContain('mode: replay');
    expect(text).toContain('graph 1: 3 ops (mul, add, relu)');
    expect(text).toContain('%2 = mul(%x, %y)');
    expect(text).toContain('guards (');
  });

  it('says where each graph ran, and which kernels the target handed to another and why', async () => {
    vi.stubEnv('KILN_CPU_TARGET', 'wasm');
    const report = await explain((x: Tensor) => x.mul(2).cast('int32').mul(3).cast('float32').add(x.exp()).mul(x))(tensor([[1, 2, 3]]));
    const g = report.graphs[0]!;
    expect(g.target).toBe('wasm');
    expect(g.kernels.map((k) => k.fallback)).toContainEqual({ target: 'js', reason: 'cast on int32 has no vector form' });
    const text = report.toString();
    expect(text).toMatch(/\d+ kernels? on wasm:/);
    expect(text).toContain('(on js: cast on int32 has no vector form)');
  });

  it('reports a graph compiled for training: its forward, its backward and their kernels, what was saved and what is computed again', async () => {
    const mlp = (x: Tensor, w1: Tensor, w2: Tensor) => x.matmul(w1).gelu().matmul(w2).sum();
    const report = await explain(mlp)(randn([4, 6]), randn([6, 8], { requiresGrad: true }), randn([8, 3], { requiresGrad: true }));
    const t = report.graphs[0]!.training!;
    // Saved: x and w2 (the matmuls' gradients read them) and the first matmul's output; gelu's output is computed again.
    expect(t.saved.map((v) => `${v.op} ${v.type}`)).toEqual(['input float32[4,6]', 'input float32[8,3]', 'matmul float32[4,8]']);
    expect(t.savedBytes).toBe((24 + 24 + 32) * 4);
    expect(t.recomputed).toEqual(['gelu']);
    expect(t.backward.ops).toContain('gelu');
    expect(t.backward.kernels.length).toBeGreaterThan(0);
    expect(report.guards).toEqual(expect.arrayContaining(['w1.requiresGrad == true', 'x.requiresGrad == false', 'grad mode is on']));
    const text = report.toString();
    expect(text).toContain('graph 1 (compiled for training; its forward)');
    expect(text).toContain(
      'the forward saves 3 values (320 B) for the backward: input float32[4,6], input float32[8,3], matmul float32[4,8]',
    );
    expect(text).toContain('the backward computes 1 forward value again (128 B not saved): gelu');
    expect(text).toMatch(/graph 1 backward: \d+ ops/);
    const html = report.toHTML();
    expect(html).toContain('Graph 1: backward');
    expect(html.match(/<svg class="graph"/g)).toHaveLength(2);
    expect(html).toContain('Graph 1 backward</h3>');
  });

  it('reports breaks and why the function re-runs', async () => {
    const fn = async (x: Tensor) => {
      const y = helper(x.neg());
      return (await y.sum().item()) > 1 ? y.exp() : y;
    };
    const report = await explain(fn, { backend: new CompileCounter() })(tensor([1, 2]));
    expect(report.graphCount).toBe(3);
    expect(report.graphBreakCount).toBe(2);
    expect(report.breakReasons.map((b) => b.reason)).toEqual([
      'call to a function marked with disable(), which runs eagerly',
      '.item() reads the data of a traced tensor float32[]',
    ]);
    expect(report.breakReasons.every((b) => b.location?.includes('explain.test.ts:'))).toBe(true);
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toContain('free variables (not guarded without the load-time transform): helper');
    const text = report.toString();
    expect(text).toContain('graph breaks:');
    expect(text).toMatch(/1\. call to a function marked with disable\(\), which runs eagerly\n\s+at .*explain\.test\.ts:\d+:\d+/);
  });

  it('is also a method of the compiled function, and lists recompiles', () => {
    const fast = compile((x: Tensor) => x.add(1), { backend: 'eager', dynamic: false });
    expect(fast.explain().modeReason).toBe('not called yet');
    fast(tensor([1]));
    fast(tensor([1, 2]));
    const report = fast.explain();
    expect(report.recompiles).toEqual(['call 2: x.shape[0] == 1 failed: expected 1, got 2']);
    expect(report.toString()).toContain('recompiles:');
  });
});

describe('fusion decisions', () => {
  it('say why a value is a separate kernel: what got a buffer, what was fused, and what was not, with the reason', async () => {
    // Random numbers cannot go into a matmul's epilogue: dropout stays out of the matmul's kernel, and the report says why.
    const fn = (x: Tensor, w: Tensor) => F.dropout(x.matmul(w).relu(), 0.5).add(x.matmul(w).exp().sum(-1, true));
    const report = await explain(fn)(randn([4, 8]), randn([8, 8]));
    const decisions = report.graphs.flatMap((g) => g.decisions);
    expect(decisions.some((d) => /^not fused: .* into the kernel of matmul#\d+: random numbers in a matmul epilogue$/.test(d))).toBe(true);
    expect(decisions.some((d) => d.startsWith('fuse '))).toBe(true);
    expect(String(report)).toContain('fusion decisions (why each kernel is what it is):');
    expect(report.toHTML()).toContain('Fusion decisions (');
  });
});

describe('KILN_LOGS', () => {
  it('prints one readable line per event for the topics asked for', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((s: unknown) => void lines.push(String(s)));
    process.env.KILN_LOGS = 'graph_breaks,recompiles,guards,graph';
    const fast = compile(
      async function logged(x: Tensor) {
        return (await x.sum().item()) > 0 ? x : x.neg();
      },
      { backend: 'eager' },
    );
    await fast(tensor([1]));
    await fast(tensor([1, 2]));
    expect(
      lines.some((l) =>
        /^\[kiln:graph_breaks\] logged: graph break 1: \.item\(\) reads the data of a traced tensor float32\[\] at .*explain\.test\.ts:\d+:\d+$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith('[kiln:guards] logged: entry 1 (re-run) guards:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('[kiln:graph] logged: graph 1 (1 ops)\ngraph(x: float32[1]):'))).toBe(true);
    expect(
      lines.some((l) => l === '[kiln:recompiles] logged: recompiling (entry 2 of at most 8): x.shape[0] == 1 failed: expected 1, got 2'),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith('[kiln:perf]'))).toBe(false);
  });

  it('perf: the time of a compiled graph by stage, from its trace to what the target built', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((s: unknown) => void lines.push(String(s)));
    process.env.KILN_LOGS = 'perf';
    compile(function timed(x: Tensor) {
      return x.mul(2).exp();
    })(tensor([1, 2]));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\[kiln:perf\] inductor: traced a graph of 2 ops in [\d.]+ ms, compiled it in [\d.]+ ms \(lower [\d.]+ ms, schedule [\d.]+ ms, render [\d.]+ ms, (modules|functions) [\d.]+ ms\)$/,
      ),
    );
  });

  it('prints a graph break once per new graph, and counts its repeats', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((s: unknown) => void lines.push(String(s)));
    process.env.KILN_LOGS = 'graph_breaks';
    const fast = compile(
      function repeats(x: Tensor) {
        return helper(x.mul(2)).add(1);
      },
      { backend: 'eager' },
    );
    for (let i = 0; i < 12; i++) fast(tensor([1])); // it re-runs (a break): the same break every call
    fast(tensor([1, 2])); // a new graph before it: printed again
    const what = 'call to a function marked with disable(), which runs eagerly at ';
    expect(lines.map((l) => l.replace(/ at [^ ]*explain\.test\.ts:\d+:\d+/, ' at <here>'))).toEqual([
      `[kiln:graph_breaks] repeats: graph break 1: ${what}<here>`,
      `[kiln:graph_breaks] repeats: graph break 1 repeated 10 times (${what}<here>); printed again when it ends a new graph`,
      `[kiln:graph_breaks] repeats: graph break 1: ${what}<here> (repeated 11 times since it was last printed)`,
    ]);
    expect(fast.stats.graphBreaks).toBe(13);
  });
});
