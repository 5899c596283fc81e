/**
 * kiln installed as a user installs it: `pnpm build`, `pnpm pack` of the four
 * packages, the tarballs installed with plain npm into a new project in the
 * temp folder (outside the workspace, so nothing resolves to its sources),
 * and there, with plain Node and no tsx:
 *
 * - test/install-app/mlp.mjs compiles an MLP on cpu (and webgpu when an
 *   adapter exists; under CI=true it must) and matches eager;
 * - `node --import @kiln/tracer/register app.mjs`: the load-time transform,
 *   built, makes a function with free variables replay;
 * - consumer.ts type-checks with tsc against the shipped .d.ts
 *   (moduleResolution nodenext), as a Node project and as a browser one.
 *
 * npm fetches kiln's own dependencies (acorn, webgpu, ...) from the registry
 * (or its cache).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'install-app');
const PACKAGES = ['gpu-runtime', 'eager', 'inductor', 'tracer'];
const ci = process.env.CI === 'true';

// The test runner's NODE_OPTIONS name a file of this repository by a relative path; the app is elsewhere.
const { NODE_OPTIONS: _, ...env } = process.env;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** The last line of a script's output that is JSON (Dawn may print warnings around it). */
function lastJson(out: string): Record<string, unknown> {
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in the output:\n${out}`);
  return JSON.parse(line);
}

let app = '';

describe('kiln installed from npm tarballs into a project outside the workspace', () => {
  beforeAll(() => {
    run('pnpm', ['build'], ROOT);
    app = mkdtempSync(join(tmpdir(), 'kiln-install-'));
    const tarballs = join(app, 'tarballs');
    mkdirSync(tarballs);
    for (const p of PACKAGES) run('pnpm', ['pack', '--pack-destination', tarballs], join(ROOT, 'packages', p));
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    expect(files).toHaveLength(PACKAGES.length);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'kiln-user-app', private: true, type: 'module' }, null, 2)}\n`);
    // --ignore-scripts: kiln needs no install script (webgpu's only clears a macOS quarantine flag).
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...files], app);
    for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(app, f));
  }, 600_000);

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('ships built JavaScript, declarations and source maps, and nothing of the workspace', () => {
    for (const p of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@kiln', p, 'package.json'), 'utf8'));
      expect(manifest.private).toBeUndefined();
      expect(manifest.license).toBe('MIT');
      expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      const dist = readdirSync(join(app, 'node_modules', '@kiln', p, 'dist'));
      expect(dist).toEqual(expect.arrayContaining(['index.js', 'index.js.map', 'index.d.ts', 'index.d.ts.map']));
    }
  });

  it('compiles an MLP with plain Node on cpu and webgpu, matching eager', () => {
    const out = lastJson(run('node', ['mlp.mjs'], app)) as {
      results: { device: string; size: number; worst: number; cacheHits: number }[];
      noWebGpu: string | null;
    };
    if (ci) expect(out.noWebGpu, 'CI=true: webgpu must work').toBeNull();
    if (out.noWebGpu) console.warn(`[kiln] install test: webgpu part skipped: ${out.noWebGpu}`);
    expect(out.results.map((r) => r.device)).toEqual(out.noWebGpu ? ['cpu'] : ['cpu', 'webgpu']);
    for (const r of out.results) {
      expect(r.size).toBe(128);
      expect(r.worst, `${r.device}: worst |compiled - eager| / (atol + rtol |eager|)`).toBeLessThanOrEqual(1);
      expect(r.cacheHits).toBe(1);
    }
  });

  it('runs the load-time transform with `node --import @kiln/tracer/register app.mjs`: the compiled function replays', () => {
    const plain = lastJson(run('node', ['app.mjs'], app));
    expect(plain.mode).toBe('re-run'); // without the transform, free variables are not guarded
    const out = lastJson(run('node', ['--import', '@kiln/tracer/register', 'app.mjs'], app));
    expect(out.mode).toBe('replay');
    expect(out.reason).toContain('closures guarded by the load-time transform (scale)');
    expect(out.cacheHits).toBe(2);
    expect(out.worst).toBeLessThan(1e-6);
  });

  it('type-checks a TypeScript consumer against the shipped .d.ts (nodenext; Node and browser libs)', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    for (const config of ['tsconfig.node.json', 'tsconfig.browser.json']) run(tsc, ['-p', config], app);
  });
});
