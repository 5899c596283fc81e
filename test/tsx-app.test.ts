/**
 * TypeScript apps run the way users run them: `node --import tsx --import
 * @kiln/tracer/register app.ts` (and `.mts`). tsx's TypeScript step
 * rewrites what the load-time transform reads (a named arrow becomes
 * `__name(...)`, parameters are renamed); each fixture in tsx-app/ prints
 * what its compiled functions did as one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;

/** Runs a fixture under tsx and the transform (as `ext` when given: a copy in the git-ignored .transformed/), returning its JSON line. */
function run(fixture: string, options: { ext?: string; env?: Record<string, string> } = {}): Record<string, Record<string, unknown>> {
  let file = join('tsx-app', fixture);
  if (options.ext) {
    const dir = join(here, '.transformed');
    mkdirSync(dir, { recursive: true });
    file = join('.transformed', fixture.replace(/\.ts$/, options.ext));
    copyFileSync(join(here, 'tsx-app', fixture), join(here, file));
  }
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', '@kiln/tracer/register', file], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', KILN_LOGS: '', ...options.env },
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, Record<string, unknown>>;
}

describe('the load-time transform under tsx', () => {
  it.each(['.ts', '.mts'])('replays a const arrow, a function expression, a let and a helper arrow in a %s file', (ext) => {
    const r = run('declarations.ts', { ext });
    for (const name of ['constArrow', 'functionExpression', 'letArrow', 'withHelper']) {
      expect(r[name], name).toMatchObject({ mode: 'replay', changed: true, matches: true, recompiles: 0 });
      expect(r[name]!.modeReason, name).toMatch(/^closures guarded by the load-time transform \(.*w\)/);
    }
    expect(r.withHelper!.modeReason).toContain('(double, scale, w)');
  });
});
