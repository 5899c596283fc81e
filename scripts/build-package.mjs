#!/usr/bin/env node
/**
 * Builds the @kiln package in the current directory into dist/ (each
 * package's `pnpm build`; the root `pnpm build` runs them in dependency
 * order):
 *
 * - JavaScript: esbuild bundles each entry named in `publishConfig.exports`
 *   and `publishConfig.imports` (./dist/X.js is built from ./src/X.ts) into
 *   one ESM file, code shared by two entries in dist/chunks/, with source
 *   maps. Other packages (@kiln/*, npm dependencies, node:*) and the
 *   package's own `#imports` stay imports, so Node and bundlers resolve
 *   them (a browser bundler picks the browser `#platform`).
 * - Types: `tsc -b tsconfig.build.json` (project references: a package's
 *   declarations see its dependencies' dist/ declarations, not their
 *   sources) emits .d.ts and .d.ts.map per source file. The sources import
 *   relative paths without an extension, which a consumer resolving as Node
 *   does (`moduleResolution: nodenext`) cannot follow in an ES module
 *   package, so each relative specifier in the .d.ts files is given the
 *   extension of the file it names ('./tensor' -> './tensor.js',
 *   './ops' -> './ops/index.js').
 *
 * The workspace itself never needs this: `exports` point at the sources,
 * which tsx, vitest and Vite run directly; `publishConfig` swaps in dist/ when
 * `pnpm pack` or `pnpm publish` writes the package.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

/** Entries no export names: modules a package loads by URL (register() loads the hook module in a worker). */
const EXTRA_ENTRIES = { '@kiln/tracer': ['./src/transform/node-hooks.ts'] };

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const fail = (message) => {
  console.error(`build ${pkg.name}: ${message}`);
  process.exit(1);
};

/** Every ./dist/*.js path a conditional exports/imports value names. */
function distTargets(value, out = new Set()) {
  if (typeof value === 'string') {
    if (value.endsWith('.js')) out.add(value);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) distTargets(v, out);
  }
  return out;
}

const published = pkg.publishConfig ?? {};
if (!published.exports) fail('package.json has no publishConfig.exports');
// Every subpath the workspace exports is published, except test helpers.
for (const key of Object.keys(pkg.exports ?? {})) {
  if (!(key in published.exports) && !key.startsWith('./testing')) fail(`exports['${key}'] is missing from publishConfig.exports`);
}
const targets = [...distTargets(published.exports), ...distTargets(published.imports)];
const entries = [...targets.map((t) => t.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts')), ...(EXTRA_ENTRIES[pkg.name] ?? [])];
for (const e of entries) if (!existsSync(join(root, e))) fail(`${e} (the source of an entry) does not exist`);

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, '.tsbuildinfo'), { force: true });

// Types first: a type error stops the build before anything is written.
const tsc = join(dirname(new URL(import.meta.url).pathname), '..', 'node_modules', '.bin', 'tsc');
try {
  execFileSync(tsc, ['-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
} catch {
  fail('tsc -b tsconfig.build.json failed');
}

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|^\s*export\s+\*\s+from\s*)(['"])(\.{1,2}\/[^'"]*)\2/gm;

function withExtension(file, specifier) {
  if (/\.(?:m?js|json)$/.test(specifier)) return specifier;
  const base = resolve(dirname(file), specifier);
  if (existsSync(`${base}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.d.ts'))) return `${specifier.replace(/\/$/, '')}/index.js`;
  fail(`${relative(root, file)}: cannot find the declarations of '${specifier}'`);
}

function* declarationFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarationFiles(path);
    else if (name.endsWith('.d.ts')) yield path;
  }
}

for (const file of declarationFiles(join(root, 'dist'))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(SPECIFIER, (_, lead, quote, spec) => `${lead}${quote}${withExtension(file, spec)}${quote}`);
  if (fixed !== text) writeFileSync(file, fixed);
}

const dependencies = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });
await build({
  absWorkingDir: root,
  entryPoints: entries,
  outbase: 'src',
  outdir: 'dist',
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external: [...dependencies, ...dependencies.map((d) => `${d}/*`), '#*', 'node:*'],
  logLevel: 'warning',
});

console.log(`build ${pkg.name}: ${entries.length} entries -> dist/`);
