/**
 * TypeScript apps run the way users run them: `node --import tsx --import
 * @kiln/tracer/register app.ts` (and `.mts`). tsx's TypeScript step
 * rewrites what the load-time transform reads (a named arrow becomes
 * `__name(...)`, parameters are renamed); each fixture in tsx-app/ prints
 * what its compiled functions did as one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;

interface Run {
  /** The fixture's JSON line: one record per compiled function. */
  readonly out: Record<string, Record<string, unknown>>;
  readonly stderr: string;
}

/** Runs a fixture under tsx and the transform (as `ext` when given: a copy in the git-ignored .transformed/). */
function run(fixture: string, options: { ext?: string; env?: Record<string, string> } = {}): Run {
  let file = join('tsx-app', fixture);
  if (options.ext) {
    const dir = join(here, '.transformed');
    mkdirSync(dir, { recursive: true });
    file = join('.transformed', fixture.replace(/\.ts$/, options.ext));
    copyFileSync(join(here, 'tsx-app', fixture), join(here, file));
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', '@kiln/tracer/register', file], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', KILN_LOGS: '', ...options.env },
  });
  if (r.status !== 0) throw new Error(`${file} failed (${r.status}):\n${r.stderr}`);
  return { out: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Run['out'], stderr: r.stderr };
}

/** The 1-based line of the fixture holding `marker`. */
function lineOf(fixture: string, marker: string): number {
  return (
    readFileSync(join(here, 'tsx-app', fixture), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(marker)) + 1
  );
}

describe('the load-time transform under tsx', () => {
  it.each(['.ts', '.mts'])('replays a const arrow, a function expression, a let and a helper arrow in a %s file', (ext) => {
    const { out } = run('declarations.ts', { ext });
    for (const name of ['constArrow', 'functionExpression', 'letArrow', 'withHelper']) {
      expect(out[name], name).toMatchObject({ mode: 'replay', changed: true, matches: true, recompiles: 0 });
      expect(out[name]!.modeReason, name).toMatch(/^closures guarded by the load-time transform \(.*w\)/);
    }
    expect(out.withHelper!.modeReason).toContain('(double, scale, w)');
  });

  it('says so, with the reason, for a compile call whose function it cannot see: in explain, and under KILN_LOGS=guards at the line in the .ts file', () => {
    const { out, stderr } = run('declarations.ts', { env: { KILN_LOGS: 'guards' } });
    expect(out.throughParameter).toMatchObject({
      mode: 're-run',
      modeReason:
        'free variables not guarded, since the load-time transform could not see the function given to compile ' +
        '(`f` is a parameter, so the function it holds is not known here): F, w',
      changed: true,
      matches: true,
    });
    const line = lineOf('declarations.ts', 'UNSEEN-MARKER');
    expect(stderr).toContain(
      `[kiln:guards] ${join(here, 'tsx-app', 'declarations.ts')}:${line}:10: the load-time transform cannot see the function this compile call is given (\`f\` is a parameter`,
    );
  });

  it('names inputs in guards and graphs as the source does, where tsx renamed the parameters (x2 for x)', () => {
    const { out } = run('declarations.ts');
    const r = out.renamedParameters!;
    expect(r.source).toMatch(/^function affine\(x2, ?w2, ?b2\)/); // what the tracer reads at run time
    expect(r.guards).toEqual(
      expect.arrayContaining(['x.shape[0] == 3', 'w.shape[1] == 4', 'b.shape[0] == 4', 'x, w, b are distinct tensors']),
    );
    expect(JSON.stringify(r.guards)).not.toMatch(/x2|w2|b2/);
    expect(r.graph).toMatch(/^graph\(x: float32\[3,4\], w: float32\[4,4\], b: float32\[4\]\):/);
  });

  it("replays the README's MLP example and a class-based model, compiled as a module and passed as an argument", () => {
    const { out } = run('models.ts');
    expect(out.readmeMlp).toMatchObject({ mode: 'replay', explain: 'replay' });
    expect(out.readmeMlp!.guards).toEqual(
      expect.arrayContaining(['x.shape[0] == 8', 'w1.shape[0] == 32', 'x, w1, b1, w2, b2 are distinct tensors']),
    );
    expect(out.classModel).toMatchObject({ mode: 'replay', explain: 'replay' });
    expect(out.classModel!.modeReason).toContain('methods analyzed: model.fc2.forward, model.fc1.forward');
    expect(out.classModel!.guards).toEqual(
      expect.arrayContaining([
        'model is a MLP with keys [fc1, fc2]',
        'model.fc1 is a Linear with keys [weight, bias]',
        'model.fc1.weight.shape[0] == 32',
      ]),
    );
    expect(out.classModel!.diff as number).toBeLessThan(1e-5);
    expect(out.classArgument).toMatchObject({ mode: 'replay' });
    expect(out.classArgument!.modeReason).toContain('methods analyzed: m.fc2.forward, m.fc1.forward, m.forward');
  });
});
