/**
 * The example app (closure-app/gpt2-block.ts) run the way a user runs it:
 * `node --import tsx --import @kiln/tracer/register`. Its GPT-2 block keeps
 * its weights in module-level variables; with the transform it replays,
 * without (closure: null) it re-runs, both match eager, a rebound weight is
 * seen, and stack traces still name the original TypeScript lines.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;

describe('the load-time transform in a real app (node --import @kiln/tracer/register)', () => {
  it('replays a GPT-2 block whose weights live in closures', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--import', '@kiln/tracer/register', 'closure-app/gpt2-block.ts', '--json', '--quick'],
      {
        cwd: here,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', D: '32', T: '8', HEADS: '2' },
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(r.mode).toBe('replay');
    expect(r.modeReason).toMatch(/^closures guarded by the load-time transform \(attention, cfg, ln1w, .*mlp, .*fc2B\)/);
    expect(r.rerunMode).toBe('re-run');
    expect(r.rerunReason).toContain('free variables (not guarded without the load-time transform): attention, mlp');
    expect(r.overheadModes).toEqual(['replay', 're-run']);
    for (const k of ['diffReplay', 'diffRerun', 'afterRebind'] as const) expect(r[k] as number, k).toBeLessThan(1e-5);
    expect(r.recompiles).toBe(0);
    // Source maps chained through tsx and the transform: the stack names the line in the .ts file.
    const lines = readFileSync(join(here, 'closure-app/gpt2-block.ts'), 'utf8').split('\n');
    expect(r.stackLine).toBe(lines.findIndex((l) => l.includes('// STACK-MARKER')) + 1);
  });
});
