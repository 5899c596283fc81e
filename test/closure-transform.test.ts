/**
 * The load-time transform and the tracer together: a JavaScript module
 * (closure-app/rebind-fixture.mjs) is transformed as the Node hook and the
 * Vite plugin transform it, then loaded. Its compiled block replays, and a
 * weight rebound between calls is seen by the replaying block. A second
 * fixture (closure-app/getter-fixture.mjs) reads getters, which run once
 * per call as in the uncompiled function.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, tensor } from '@kiln/eager';
import type { Compiled } from '@kiln/tracer';
import { kilnPlugin } from '@kiln/tracer/vite';
import { afterEach, describe, expect, it, vi } from 'vitest';

interface Fixture {
  block: Compiled<(x: Tensor) => Tensor>;
  setWeight(w: Tensor): void;
  setBias(b: Tensor): void;
  setConfig(key: string, value: unknown): void;
}

interface GetterFixture {
  reads: { cfg: number; opts: number };
  scaled(x: Tensor, opts: { shift: number }): Tensor;
  fast: Compiled<(x: Tensor, opts: { shift: number }) => Tensor>;
  options(): { shift: number };
}

const here = import.meta.dirname;

/** A fixture in closure-app/ as the transform leaves it (or untouched), loaded as a fresh module. */
async function load<T = Fixture>(transformed: boolean, name: string, fixture = 'rebind-fixture.mjs'): Promise<T> {
  const path = join(here, 'closure-app', fixture);
  const source = readFileSync(path, 'utf8');
  const out = transformed ? kilnPlugin().transform.call(undefined, source, path) : null;
  const dir = join(here, '.transformed');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, out ? out.code : source);
  return (await import(/* @vite-ignore */ file)) as T;
}

const values = (t: Tensor) => t.toArray();

afterEach(() => vi.restoreAllMocks());

describe('a module loaded through the load-time transform', () => {
  it('replays its compiled block, and the replaying block sees a rebound weight', async () => {
    const m = await load(true, 'rebind');
    const x = tensor([[1, 2]]);
    expect(await values(m.block(x))).toEqual([[2, 4]]);
    const report = m.block.explain();
    expect(report.mode).toBe('replay');
    expect(report.modeReason).toMatch(/^closures guarded by the load-time transform \(project, w, bias, cfg\)/);
    expect(report.guards).toEqual(expect.arrayContaining(['cfg.scale == 2', "w.dtype == 'float32'", 'bias.shape[0] == 2']));

    const mul = vi.spyOn(Tensor.prototype, 'mul'); // replay runs the graph, not the JavaScript
    m.setWeight(
      tensor([
        [0, 1],
        [1, 0],
      ]),
    );
    expect(await values(m.block(x))).toEqual([[4, 2]]);
    m.setBias(tensor([10, 20]));
    expect(await values(m.block(x))).toEqual([[24, 42]]);
    m.setConfig('label', 'changed'); // a field the block does not read
    expect(await values(m.block(x))).toEqual([[24, 42]]);
    expect(mul).not.toHaveBeenCalled();
    expect(m.block.stats).toMatchObject({ calls: 4, cacheHits: 3, recompiles: [] });

    m.setConfig('scale', 3); // a field it reads: a recompile, and the new value
    expect(await values(m.block(x))).toEqual([[36, 63]]);
    expect(m.block.stats.recompiles[0]!.reason).toBe('cfg.scale == 2 failed: expected 2, got 3');
  });

  it('without the transform, the same module re-runs its JavaScript (and still sees the rebound weight)', async () => {
    const m = await load(false, 'plain');
    const x = tensor([[1, 2]]);
    m.block(x);
    expect(m.block.explain().mode).toBe('re-run');
    expect(m.block.explain().modeReason).toContain('free variables (not guarded without the load-time transform)');
    m.setWeight(
      tensor([
        [0, 1],
        [1, 0],
      ]),
    );
    expect(await values(m.block(x))).toEqual([[4, 2]]);
  });

  it('runs a getter on a closed-over object and one on an argument once per call, as the uncompiled function does', async () => {
    const m = await load<GetterFixture>(true, 'getters', 'getter-fixture.mjs');
    const x = tensor([1, 2]);
    const compiled: unknown[] = [];
    for (let call = 1; call <= 3; call++) {
      compiled.push(await values(m.fast(x, m.options())));
      expect(m.reads).toEqual({ cfg: call, opts: call });
    }
    m.reads.cfg = 0;
    m.reads.opts = 0;
    const plain: unknown[] = [];
    for (let call = 1; call <= 3; call++) plain.push(await values(m.scaled(x, m.options())));
    expect(compiled).toEqual(plain);
    expect(compiled).toEqual([
      [11, 12],
      [22, 24],
      [33, 36],
    ]);
    const report = m.fast.explain();
    expect(report.mode).toBe('re-run');
    expect(report.modeReason).toContain('input cfg.scale is a getter, which guards cannot look into');
  });
});
