/**
 * `pnpm bench --browser`: the workloads inside headless Chromium. The page
 * (benchmarks/browser/page.ts) is built with Vite from the same workloads
 * and lib/ modules as the Node run — same rows, same checks, same timing
 * policy — and runs on the browser's WebGPU (navigator.gpu; SwiftShader on
 * a machine without a GPU) with the peers' WebGPU backends beside kiln.
 * This side builds and serves the page, forwards its progress lines, and
 * hands the rows back to main.ts, which prints the same tables as for Node.
 * Like the Node run, the page compiles without the load-time transform.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserBenchState } from '../browser/state';
import { chromiumMissing, openChromium, serveStatic } from './chromium';
import type { BenchOptions } from './options';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE = join(HERE, '..', 'browser');
const OUT = join(HERE, '..', 'results', 'browser-page');

export interface BrowserRun extends BrowserBenchState {
  /** The browser's name and version ('Chromium 156.0.8078.108'). */
  browser: string;
}

/** Builds the bench page into benchmarks/results/browser-page/ (Vite, browser conditions: no Dawn, no node:*). */
async function buildPage(): Promise<void> {
  const { build } = await import('vite');
  await build({
    root: PAGE,
    configFile: false,
    logLevel: 'warn',
    build: { outDir: OUT, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false },
  });
}

export async function runInBrowser(options: BenchOptions, progress: (text: string) => void): Promise<BrowserRun> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`--browser: ${missing}`);
  progress('building the bench page (Vite)... ');
  await buildPage();
  const server = await serveStatic(OUT);
  const chromium = await openChromium();
  try {
    const { page } = chromium;
    await page.exposeFunction('kilnProgress', (text: string) => progress(text));
    const query = new URLSearchParams();
    if (options.quick) query.set('quick', '1');
    if (options.only.length > 0) query.set('only', options.only.join(','));
    progress('opening it in headless Chromium');
    await page.goto(`${server.url}?${query}`);
    await page.waitForFunction(() => (globalThis as { kilnBench?: BrowserBenchState }).kilnBench?.done === true, null, {
      timeout: 0,
      polling: 1000,
    });
    const state = await page.evaluate(() => (globalThis as unknown as { kilnBench: BrowserBenchState }).kilnBench);
    const errors = chromium.log.filter((l) => l.startsWith('pageerror'));
    if (state.error) throw new Error(`the bench page failed: ${state.error}${errors.length ? `\n${errors.join('\n')}` : ''}`);
    // The user agent string hides the minor version; the DevTools protocol has it ('HeadlessChrome/156.0.8078.108').
    const cdp = await chromium.context.newCDPSession(page);
    const { product } = (await cdp.send('Browser.getVersion')) as { product: string };
    return { ...state, browser: `Chromium ${product.split('/')[1] ?? product} (headless)` };
  } finally {
    await chromium.close();
    await server.close();
  }
}
