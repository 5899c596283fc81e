/**
 * The example's two models, written as a kiln user writes them: functions of
 * an input and a parameter object, with seeded weights (std 0.02, as GPT-2's
 * init). The same file runs in the page (webgpu) and in the Node test that
 * checks the page's numbers (cpu).
 */
import { type Device, F, manualSeed, randn, type Tensor } from '@kiln/eager';
import { type Compiled, compile } from '@kiln/tracer';

/** GPT-2 small's width, heads and MLP width. */
export const D = 768;
export const HEADS = 12;
export const HIDDEN = 4 * D;

/** A model's parameters, by name. */
export type Params = Record<string, Tensor>;

/**
 * Seeded normal values, drawn on the cpu and moved to `device`: bit for bit
 * the same weights on every device. (Drawn on webgpu, they would go through
 * the device's own log and cos, which WGSL allows to be off by up to 2^-11,
 * as SwiftShader's are; the results would then differ by more than
 * float32's tolerance before any model ran.)
 */
const normal = (shape: number[], device: Device) => randn(shape, { device: 'cpu' }).to(device);
const weight = (shape: number[], device: Device) => normal(shape, device).mul(0.02);
const gain = (device: Device) => normal([D], device).mul(0.1).add(1);

/** x[tokens, 768] -> linear 3072 -> gelu -> linear 768. */
export function mlp(x: Tensor, p: Params): Tensor {
  return F.linear(F.gelu(F.linear(x, p.fc1!, p.b1)), p.fc2!, p.b2);
}

export function mlpParams(device: Device): Params {
  return { fc1: weight([HIDDEN, D], device), b1: weight([HIDDEN], device), fc2: weight([D, HIDDEN], device), b2: weight([D], device) };
}

/** GPT-2's block: pre-layerNorm, causal self-attention (12 heads), tanh-gelu MLP, residuals. */
export function gpt2Block(x: Tensor, p: Params): Tensor {
  const [B, T, C] = x.shape as [number, number, number];
  const heads = (t: Tensor) => t.reshape([B, T, HEADS, C / HEADS]).transpose(1, 2);
  const [q, k, v] = F.linear(F.layerNorm(x, [C], p.ln1w, p.ln1b), p.attnW!, p.attnB)
    .split(C, -1)
    .map(heads);
  const y = F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).transpose(1, 2).reshape([B, T, C]);
  const h = x.add(F.linear(y, p.projW!, p.projB));
  const m = F.gelu(F.linear(F.layerNorm(h, [C], p.ln2w, p.ln2b), p.fcW!, p.fcB), { approximate: 'tanh' });
  return h.add(F.linear(m, p.fc2W!, p.fc2B));
}

export function gpt2BlockParams(device: Device): Params {
  return {
    ln1w: gain(device),
    ln1b: weight([D], device),
    attnW: weight([3 * D, D], device),
    attnB: weight([3 * D], device),
    projW: weight([D, D], device),
    projB: weight([D], device),
    ln2w: gain(device),
    ln2b: weight([D], device),
    fcW: weight([HIDDEN, D], device),
    fcB: weight([HIDDEN], device),
    fc2W: weight([D, HIDDEN], device),
    fc2B: weight([D], device),
  };
}

/**
 * The compiled models. Compiled here, next to the functions: the load-time
 * transform (kilnPlugin() in vite.config.ts) sees which function each
 * compile() gets and hands it that function's free variables (HEADS, F), so
 * a cache hit replays the graph without running the JavaScript.
 */
export const compiled = { gpt2Block: compile(gpt2Block), mlp: compile(mlp) };

export interface Example {
  readonly name: string;
  readonly size: string;
  /** The eager model. */
  readonly fn: (x: Tensor, p: Params) => Tensor;
  /** compile(fn). */
  readonly fast: Compiled<(x: Tensor, p: Params) => Tensor>;
  readonly input: Tensor;
  readonly params: Params;
}

/** Both models with their inputs on `device`, seeded: the same values wherever they run. */
export function examples(device: Device, tokens: number): Example[] {
  manualSeed(14);
  const blockParams = gpt2BlockParams(device);
  const blockInput = normal([1, tokens, D], device);
  manualSeed(4);
  const params = mlpParams(device);
  const input = normal([tokens, D], device);
  return [
    {
      name: 'GPT-2 block',
      size: `[1, ${tokens}, ${D}], ${HEADS} heads`,
      fn: gpt2Block,
      fast: compiled.gpt2Block,
      input: blockInput,
      params: blockParams,
    },
    { name: 'MLP 768-3072-768', size: `[${tokens}, ${D}]`, fn: mlp, fast: compiled.mlp, input, params },
  ];
}
