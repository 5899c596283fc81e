/**
 * Headless Chromium for kiln's browser checks (the example app's test and
 * `pnpm bench --browser`): Debian's package (scripts/setup-chromium.sh),
 * driven by playwright-core, with WebGPU on (`--enable-unsafe-webgpu`; on
 * a machine without a GPU Chromium's adapter is SwiftShader) and an empty
 * profile; plus a static file server on 127.0.0.1, since WebGPU needs a
 * secure context (http://127.0.0.1 is one, file:// and data: are not).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';

/** Why Chromium cannot be used here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (run scripts/setup-chromium.sh, or set KILN_CHROMIUM)`;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 (a free port); `/` is index.html. */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const root = normalize(dir);
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) || path === root ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    // Cross-origin isolated, so pages have SharedArrayBuffer: kiln's cpu kernels then run on worker threads.
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-embedder-policy', 'require-corp');
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** What the page printed to its console and the errors it threw, in order. */
  readonly log: string[];
  close(): Promise<void>;
}

/** Headless Chromium with WebGPU, one page, an empty profile removed on close. */
export async function openChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    log,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
