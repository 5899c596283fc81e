// Run as `node --import @kiln/tracer/register app.mjs`: the load-time
// transform hands compile() the block's free variables (F, scale), so a
// cache hit replays the graph without running the JavaScript again.
import { F, manualSeed, randn } from '@kiln/eager';
import { compile } from '@kiln/tracer';

const scale = 0.5;
const block = (x, w) => F.gelu(F.linear(x, w)).mul(scale);
const fast = compile(block);

manualSeed(1);
const x = randn([4, 8]);
const w = randn([8, 8]);
const want = (await block(x, w).toArray()).flat();
let worst = 0;
for (let i = 0; i < 3; i++) {
  const got = (await fast(x, w).toArray()).flat();
  for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
}
const report = fast.explain();
console.log(JSON.stringify({ mode: report.mode, reason: report.modeReason, cacheHits: fast.stats.cacheHits, worst }));
