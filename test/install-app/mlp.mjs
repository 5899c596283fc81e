// A plain ES module, as a user writes it: compile an MLP on cpu (and webgpu
// when there is an adapter), compare with eager, print what was found as JSON.
import { F, initWebGpu, manualSeed, randn } from '@kiln/eager';
import { compile } from '@kiln/tracer';

const mlp = (x, w1, b1, w2, b2) => F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2);

const devices = ['cpu'];
let noWebGpu = null;
try {
  await initWebGpu();
  devices.push('webgpu');
} catch (error) {
  noWebGpu = error instanceof Error ? error.message : String(error);
}

const results = [];
for (const device of devices) {
  manualSeed(0);
  const args = [[8, 16], [32, 16], [32], [16, 32], [16]].map((shape) => randn(shape, { device }));
  const fast = compile(mlp);
  const want = (await mlp(...args).toArray()).flat();
  const first = (await fast(...args).toArray()).flat();
  const second = (await fast(...args).toArray()).flat();
  const worst = (got) => Math.max(...got.map((v, i) => Math.abs(v - want[i]) / (1e-5 + 1e-4 * Math.abs(want[i]))));
  results.push({ device, size: want.length, worst: Math.max(worst(first), worst(second)), cacheHits: fast.stats.cacheHits });
}
console.log(JSON.stringify({ results, noWebGpu }));
