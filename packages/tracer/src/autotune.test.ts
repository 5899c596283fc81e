/**
 * compile(fn, { mode: 'max-autotune' }) (issue 16): the option's
 * validation, the autotune cache (a second compile benchmarks nothing; the
 * file is keyed by adapter), explain's report of each choice, and results
 * equal to cpu eager whichever candidate is used. No timing assertions.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError, randn, type Tensor } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { adapterKey, getRuntime } from '@kiln/gpu-runtime';
import { autotuneTesting } from '@kiln/inductor';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { autotuned, compile, explain } from './index';

// Tuning measures WebGPU kernels: the webgpu device when present (CI=true fails without an adapter).
const gpus = (await devicesUnderTest()).filter((d) => d === 'webgpu');
const linear = (x: Tensor, w: Tensor, b: Tensor) => x.matmul(w.transpose(0, 1)).add(b).relu();

const previousDir = process.env.KILN_CACHE_DIR;
let cacheFile = '';
beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-autotune-'));
  process.env.KILN_CACHE_DIR = dir;
  cacheFile = join(dir, 'autotune.json');
  autotuneTesting.pick = null;
});
afterAll(() => {
  if (previousDir === undefined) delete process.env.KILN_CACHE_DIR;
  else process.env.KILN_CACHE_DIR = previousDir;
  autotuneTesting.pick = null;
});

describe('mode option', () => {
  it('accepts default and max-autotune, and names both for anything else', () => {
    expect(() => compile((x: Tensor) => x, { mode: 'default' })).not.toThrow();
    expect(() => compile((x: Tensor) => x, { mode: 'max-autotune' })).not.toThrow();
    const bad = () => compile((x: Tensor) => x, { mode: 'fast' as never });
    expect(bad).toThrow(KilnError);
    expect(bad).toThrow("mode must be 'default' or 'max-autotune', got 'fast'");
  });

  it('on cpu has nothing to tune, and explain says so', async () => {
    const args = [randn([8, 16]), randn([12, 16]), randn([12])] as const;
    const report = await explain(linear, { mode: 'max-autotune' })(...args);
    expect(report.graphs[0]!.note).toBe('max-autotune: nothing to tune on cpu (no kernel of this graph has tile choices)');
    expect(String(report)).toContain('nothing to tune on cpu');
  });
});

describe.each(gpus)('max-autotune on %s', (device) => {
  const inputs = () => [randn([24, 32]), randn([40, 32]), randn([40])].map((t) => t.to(device));

  it('benchmarks once, caches the winner, and the next compile takes it from the cache', async () => {
    const args = inputs();
    const before = autotuneTesting.candidateRuns;
    const first = compile(linear, { mode: 'max-autotune' });
    first(...(args as [Tensor, Tensor, Tensor]));
    await autotuned();
    const runs = autotuneTesting.candidateRuns;
    expect(runs).toBeGreaterThan(before);
    const tuned = first.explain().graphs[0]!.kernels.find((k) => k.kind === 'matmul')!;
    expect(tuned.autotune).toMatch(
      /^autotuned: tile \d+x\d+ in \d+x\d+ workgroups( of \d+-lane subgroups)?, '(nt|scalar)' \(\d+ candidates: [\d.]+ ms vs [\d.]+ ms default\)$/,
    );
    expect(String(first.explain())).toContain(tuned.autotune);
    expect(first.explain().toHTML()).toContain('autotuned: tile');

    const second = compile(linear, { mode: 'max-autotune' });
    second(...(args as [Tensor, Tensor, Tensor]));
    await autotuned();
    expect(autotuneTesting.candidateRuns).toBe(runs);
    const cached = second.explain().graphs[0]!.kernels.find((k) => k.kind === 'matmul')!;
    expect(cached.autotune).toMatch(/^from the autotune cache: /);
    expect(cached.autotune!.slice(cached.autotune!.indexOf('tile'), cached.autotune!.indexOf(' ('))).toBe(
      tuned.autotune!.slice(tuned.autotune!.indexOf('tile'), tuned.autotune!.indexOf(' (')),
    );
  });

  it("keys the cache file by adapter: another adapter's entries are not used", async () => {
    const args = inputs() as [Tensor, Tensor, Tensor];
    const fast = compile(linear, { mode: 'max-autotune' });
    fast(...args);
    await autotuned();
    const file = JSON.parse(readFileSync(cacheFile, 'utf8')) as { adapters: Record<string, Record<string, unknown>> };
    const mine = adapterKey((await getRuntime()).adapterInfo);
    expect(Object.keys(file.adapters)).toEqual([mine]);
    expect(Object.keys(file.adapters[mine]!)).toEqual(['matmul float32 24x40x32 a@0 b@0 info 32,1,1,32']);
    // The same entries under another adapter only: this adapter measures again.
    writeFileSync(cacheFile, JSON.stringify({ version: 1, adapters: { 'other | gpu | x | y': file.adapters[mine] } }));
    const runs = autotuneTesting.candidateRuns;
    const again = compile(linear, { mode: 'max-autotune' });
    again(...args);
    await autotuned();
    expect(autotuneTesting.candidateRuns).toBeGreaterThan(runs);
    expect(Object.keys(JSON.parse(readFileSync(cacheFile, 'utf8')).adapters).sort()).toEqual([mine, 'other | gpu | x | y'].sort());
  });

  it('keeps the default tile for kernels with dynamic sizes, and says so', async () => {
    const runs = autotuneTesting.candidateRuns;
    const fast = compile(linear, { mode: 'max-autotune', dynamic: true });
    fast(...(inputs() as [Tensor, Tensor, Tensor]));
    await autotuned();
    expect(autotuneTesting.candidateRuns).toBe(runs);
    const matmul = fast.explain().graphs[0]!.kernels.find((k) => k.kind === 'matmul')!;
    expect(matmul.autotune).toBe('not autotuned: dynamic sizes (the default tile serves every size)');
  });

  const layouts: { name: string; fn: (...x: Tensor[]) => Tensor; shapes: number[][] }[] = [
    { name: 'linear with bias and relu (nt)', fn: (x, w, b) => linear(x, w, b!), shapes: [[24, 32], [40, 32], [40]] },
    {
      name: 'row-major (vec4)',
      fn: (a, b) => a.matmul(b).mul(0.5),
      shapes: [
        [24, 32],
        [32, 40],
      ],
    },
    {
      name: 'batched heads',
      fn: (a, b) => a.matmul(b.transpose(-2, -1)),
      shapes: [
        [2, 3, 12, 8],
        [2, 3, 20, 8],
      ],
    },
    {
      name: 'odd sizes (scalar)',
      fn: (a, b) => a.matmul(b),
      shapes: [
        [5, 7],
        [7, 6],
      ],
    },
  ];
  it.each(layouts)('$name: every candidate gives cpu eager results (rtol 1e-4, atol 1e-5)', async ({ fn, shapes }) => {
    const cpu = shapes.map((s) => randn(s));
    const expected = await fn(...cpu).data();
    const gpu = cpu.map((t) => t.to(device));
    let count = 1;
    for (let i = 0; i < count; i++) {
      autotuneTesting.pick = (candidates) => {
        count = candidates.length;
        return candidates[i]!;
      };
      const fast = compile(fn, { mode: 'max-autotune' });
      const actual = await fast(...gpu).data();
      const note = fast.explain().graphs[0]!.kernels.find((k) => k.kind === 'matmul')!.autotune;
      expect(note).toMatch(/^chosen by a test hook: /);
      for (let j = 0; j < expected.length; j++) {
        const [x, y] = [actual[j] as number, expected[j] as number];
        expect(Math.abs(x - y), `candidate ${i} (${note}), element ${j}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(y));
      }
    }
    expect(count).toBeGreaterThan(1);
  });
});
