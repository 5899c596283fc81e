/**
 * The example app (examples/browser: Vite with kilnPlugin()) in a real
 * browser: built with `vite build`, served on 127.0.0.1 and opened in
 * headless Chromium (Debian's package; `--enable-unsafe-webgpu` gives a
 * SwiftShader WebGPU adapter without a GPU). The page must run on webgpu,
 * its eager and compiled numbers must equal the same computation in Node on
 * cpu within float32's tolerance, the compiled functions must replay (the
 * plugin's transform survived the production build), and both explain
 * reports must be drawn. The screenshot goes to .artifacts/browser-example.png.
 *
 * Without Chromium the test is skipped and says why; under CI (CI=true) it
 * must run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromiumMissing, openChromium, serveStatic } from '../benchmarks/lib/chromium';
import { examples } from '../examples/browser/src/models';
import type { PageState } from '../examples/browser/src/page-state';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples', 'browser');
const ARTIFACTS = join(ROOT, '.artifacts');
const ci = process.env.CI === 'true';
const missing = chromiumMissing();
if (missing && !ci) console.warn(`[kiln] browser example test skipped: ${missing}; under CI=true this fails instead`);

/** float32's tolerance (the README's numeric contract): webgpu against cpu. */
const RTOL = 1e-4;
const ATOL = 1e-5;

function worst(got: readonly number[], want: ArrayLike<number>): { worst: number; at: number } {
  let w = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (ATOL + RTOL * Math.abs(want[i]!));
    if (!(e <= w)) [w, at] = [Number.isNaN(e) ? Infinity : e, i];
  }
  return { worst: w, at };
}

describe('the browser example in headless Chromium', () => {
  it('runs on webgpu, matches Node on cpu, replays, and draws the reports', async (ctx) => {
    if (missing && !ci) return ctx.skip(missing);
    if (missing) throw new Error(`${missing}: CI must install it (scripts/bootstrap.sh does)`);

    // The build, as a user runs it (the test runner's NODE_OPTIONS name a file by a relative path: not passed on).
    const { NODE_OPTIONS: _, ...env } = process.env;
    execFileSync('pnpm', ['build'], { cwd: EXAMPLE, env, stdio: 'pipe', timeout: 180_000 });
    const assets = join(EXAMPLE, 'dist', 'assets');
    for (const f of readdirSync(assets).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(assets, f), 'utf8');
      // No Node-only module in the browser bundle (Dawn's 'webgpu', node:*), statically or dynamically imported.
      expect(code, f).not.toMatch(/\b(?:from|import)\s*\(?\s*["'`](?:node:|webgpu["'`])/);
    }

    const server = await serveStatic(join(EXAMPLE, 'dist'));
    const browser = await openChromium({ width: 1280, height: 1000 });
    try {
      const { page } = browser;
      await page.goto(server.url);
      await page.waitForFunction(() => (globalThis as { kilnExample?: PageState }).kilnExample?.done === true, null, {
        timeout: 240_000,
      });
      const state = await page.evaluate(() => (globalThis as unknown as { kilnExample: PageState }).kilnExample);
      expect(state.error, browser.log.join('\n')).toBeUndefined();
      expect(state.noWebGpu).toBeUndefined();
      expect(state.device).toBe('webgpu');
      expect(await page.locator('#status').textContent()).toContain('Ran on WebGPU');

      // The same models and seeds in Node, on cpu, eagerly.
      const here = examples('cpu', 32);
      expect(state.results.map((r) => r.name)).toEqual(here.map((e) => e.name));
      for (const [i, e] of here.entries()) {
        const want = await e.fn(e.input, e.params).data();
        const r = state.results[i]!;
        expect(r.eager).toHaveLength(want.length);
        for (const [column, got] of [
          ['eager', r.eager],
          ['compiled', r.compiled],
        ] as const) {
          const { worst: w, at } = worst(got, want);
          expect(w, `${e.name} ${column} on webgpu vs cpu: element ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1);
        }
        expect(r.mode, `${r.name}: ${r.modeReason}`).toBe('replay');
        expect(r.kernels).toBeGreaterThan(0);
        expect(r.eagerMs).toBeGreaterThan(0);
        expect(r.compiledMs).toBeGreaterThan(0);
      }

      // The A/B table and both explain reports, drawn.
      expect(await page.locator('#timings tr').count()).toBe(1 + here.length);
      const frames = page.locator('iframe.report');
      expect(await frames.count()).toBe(here.length);
      for (let i = 0; i < here.length; i++) {
        const frame = frames.nth(i).contentFrame();
        await expect.poll(() => frame.locator('svg.graph g.node').count()).toBeGreaterThan(2);
        const box = await frame.locator('svg.graph').first().boundingBox();
        expect(box!.width).toBeGreaterThan(200);
      }
      expect(browser.log.filter((l) => l.startsWith('pageerror') || l.startsWith('error'))).toEqual([]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'browser-example.png'), fullPage: true });

      // The same page on cpu: the wasm kernels on Web Workers (the server sends COOP and COEP, so the page has
      // SharedArrayBuffer), with Node's cpu numbers.
      await page.goto(`${server.url}?device=cpu`);
      await page.waitForFunction(() => (globalThis as { kilnExample?: PageState }).kilnExample?.done === true, null, {
        timeout: 240_000,
      });
      const onCpu = await page.evaluate(() => (globalThis as unknown as { kilnExample: PageState }).kilnExample);
      expect(onCpu.error, browser.log.join('\n')).toBeUndefined();
      expect(onCpu.device).toBe('cpu');
      expect(onCpu.cpu?.isolated).toBe(true);
      expect(onCpu.cpu!.threads).toBeGreaterThan(1);
      expect(onCpu.cpu!.workerSlices, 'slices run on Web Workers').toBeGreaterThan(0);
      expect(await page.locator('#status').textContent()).toContain(`${onCpu.cpu!.threads} threads`);
      for (const [i, e] of here.entries()) {
        const want = await e.fn(e.input, e.params).data();
        for (const got of [onCpu.results[i]!.eager, onCpu.results[i]!.compiled]) {
          const { worst: w, at } = worst(got, want);
          expect(w, `${e.name} on cpu in the page vs Node: element ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1);
        }
      }
      expect(browser.log.filter((l) => l.startsWith('pageerror') || l.startsWith('error'))).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 420_000);
});
