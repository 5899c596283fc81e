/**
 * The HTML report in a real browser: the report of a function with two
 * graph breaks, written to a file, opened in headless Chromium (Debian's
 * package, driven by playwright-core), checked for the graph drawing and
 * the break list, and photographed (.artifacts/report-two-breaks.png).
 *
 * Without Chromium the test is skipped and says why; under CI (CI=true) a
 * missing Chromium fails it (scripts/bootstrap.sh installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tensor } from '@kiln/eager';
import { F, manualSeed, randn } from '@kiln/eager';
import { explain } from '@kiln/tracer';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '..', '.artifacts');
const found = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
const missing = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set KILN_CHROMIUM); under CI=true this fails instead`;
if (!found && !ci) console.warn(`[kiln] headless-browser test skipped: ${missing}`);

/**
 * Two graph breaks (two `.item()` reads), an extern (an int32 matmul runs as its eager kernel), fusible chains.
 * Written in each test file on purpose: break locations skip kiln's own files, so a shared fixture
 * inside packages/ would report no location.
 */
async function twoBreaks(x: Tensor, w: Tensor): Promise<Tensor> {
  const counts = x.cast('int32').matmul(w.cast('int32')).cast('float32');
  const h = x.matmul(w).relu().add(counts.mul(0.01));
  const mean = await h.mean().item();
  const y = h.sub(mean).mul(0.5).exp();
  const total = await y.sum().item();
  return F.softmax(y.div(total), -1).add(1);
}

describe('the HTML report in headless Chromium', () => {
  it('shows each graph drawn and the two breaks, fetching nothing', async (ctx) => {
    if (!found && !ci) return ctx.skip(missing);
    if (!found)
      throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (scripts/bootstrap.sh installs Debian's chromium package)`);
    manualSeed(3);
    const report = await explain(twoBreaks)(randn([6, 8]), randn([8, 5]));
    expect(report.graphBreakCount).toBe(2);
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'report-two-breaks.html');
    writeFileSync(file, report.toHTML());

    const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);

      // the graphs: one SVG each, every node drawn with a size, the extern marked
      expect(await page.locator('svg.graph').count()).toBe(3);
      const nodes = report.graphs.reduce((n, g) => n + g.nodes.length, 0);
      expect(await page.locator('svg.graph g.node').count()).toBe(nodes);
      const box = await page.locator('svg.graph').first().boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(box!.height).toBeGreaterThan(200);
      const extern = page.locator('svg.graph g.node.extern').first();
      await expect.poll(() => extern.isVisible()).toBe(true);
      expect(await extern.getAttribute('data-op')).toBe('matmul');
      const fills = await page
        .locator('svg.graph')
        .first()
        .locator('g.node-call rect')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('fill')));
      expect(new Set(fills).size).toBeGreaterThan(2); // nodes colored by kernel

      // the break list, with locations and code frames
      const breaks = page.locator('ol.breaks > li');
      expect(await breaks.count()).toBe(2);
      expect(await breaks.nth(0).locator('.reason').textContent()).toContain('.item() reads the data of a traced tensor');
      expect(await breaks.nth(1).locator('.loc').textContent()).toMatch(/report-browser\.test\.ts:\d+:\d+/);
      expect(await breaks.nth(1).locator('pre.frame').textContent()).toContain('await y.sum().item()');

      expect(requests).toEqual([pathToFileURL(file).href]);
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, 'report-two-breaks.png'), fullPage: true });
      await page.locator('#graph-1').screenshot({ path: join(ARTIFACTS, 'report-two-breaks-graph-1.png') });
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
