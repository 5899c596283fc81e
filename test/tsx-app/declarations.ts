/**
 * The ways TypeScript code declares the function it compiles, each
 * compiled, called twice, and reported (`mode`, `modeReason`) as one JSON
 * line. Run it as users do: `node --import tsx --import
 * @kiln/tracer/register tsx-app/declarations.ts` (tsx wraps named arrows
 * and function expressions in `__name(...)`, which the transform sees
 * through). test/tsx-app.test.ts runs it as .ts and as .mts.
 */
import { F, randn, type Tensor } from '@kiln/eager';
import { type Compiled, compile } from '@kiln/tracer';

let w = randn([4, 4]);
const scale = 2;
const x = randn([3, 4]);

const double = (t: Tensor): Tensor => t.mul(scale);

const constArrow = (x: Tensor): Tensor => F.relu(x.matmul(w));
// biome-ignore lint/complexity/useArrowFunction: the function expression is what this case checks
const functionExpression = function (x: Tensor): Tensor {
  return F.relu(x.matmul(w));
};
// biome-ignore lint/style/useConst: the `let` declaration is what this case checks
let letArrow = (x: Tensor): Tensor => F.relu(x.matmul(w));
const withHelper = (x: Tensor): Tensor => double(F.relu(x.matmul(w)));

/** Calls a compiled function twice, rebinds `w`, calls it again, and says what happened. */
async function check(fast: Compiled<(x: Tensor) => Tensor>, fn: (x: Tensor) => Tensor) {
  w = randn([4, 4]);
  fast(x);
  const before = await fast(x).toArray();
  w = randn([4, 4]); // a rebound weight is read on the next call
  const after = await fast(x).toArray();
  const want = await fn(x).toArray();
  const report = fast.explain();
  return {
    mode: report.mode,
    modeReason: report.modeReason,
    guards: report.guards,
    changed: JSON.stringify(before) !== JSON.stringify(after),
    matches: JSON.stringify(after) === JSON.stringify(want),
    recompiles: fast.stats.recompiles.length,
  };
}

/** A compile call whose function the transform cannot see (a parameter): explain and KILN_LOGS=guards say so. */
function compiledElsewhere(f: (x: Tensor) => Tensor) {
  return compile(f); // UNSEEN-MARKER
}

const b = randn([4]);
/** Its parameters shadow module variables, so tsx renames them (x2, w2, b2): guards and graphs still say x, w, b. */
function affine(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return F.linear(x, w, b);
}
const fastAffine = compile(affine);
fastAffine(x, w, b);
const affineReport = fastAffine.explain();

const out = {
  constArrow: await check(compile(constArrow), constArrow),
  functionExpression: await check(compile(functionExpression), functionExpression),
  letArrow: await check(compile(letArrow), letArrow),
  withHelper: await check(compile(withHelper), withHelper),
  throughParameter: await check(compiledElsewhere(constArrow), constArrow),
  renamedParameters: { guards: affineReport.guards, graph: affineReport.graphs[0]!.graph, source: affine.toString() },
};
console.log(JSON.stringify(out));
