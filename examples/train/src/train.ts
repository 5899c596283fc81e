/**
 * Training the character transformer (./char-transformer) on the example
 * text with AdamW, eagerly or with the whole step compiled: forward, loss,
 * backward() and the optimizer's update in one `compile(step)`. Both runs
 * start from the same seed and see the same batches.
 */
import { type Device, F, manualSeed, optim, type Tensor, tensor, tidy } from '@kiln/eager';
import { compile } from '@kiln/tracer';
import { CharTransformer, type TransformerConfig } from './char-transformer';
import { batches, loadCorpus } from './data';

export interface TrainOptions {
  readonly device: Device;
  readonly steps: number;
  /** Compile the whole training step (else it runs eagerly). */
  readonly compiled: boolean;
  readonly seed?: number;
  /** Called after each step with its loss (read back from the device). */
  readonly onStep?: (step: number, loss: number) => void;
}

/** Sizes of the example's model and batches: small enough for a CPU, a real transformer all the same. */
export const SIZES = { batch: 8, context: 32, width: 32, heads: 4, layers: 2, lr: 3e-3 } as const;

/**
 * Compiled and eager losses agree within this, relative, at every step:
 * their float32 rounding differs (fused kernels sum in other orders), and
 * training feeds such differences back into the parameters step after step.
 */
export const LOSS_RTOL = 2e-3;

/** The losses of `steps` training steps. */
export async function train(options: TrainOptions): Promise<number[]> {
  const { device, steps, compiled, seed = 0 } = options;
  const corpus = loadCorpus();
  manualSeed(seed);
  const config: TransformerConfig = { vocab: corpus.chars.length, ...SIZES };
  const model = new CharTransformer(config, device);
  const opt = new optim.AdamW(model.parameters(), { lr: SIZES.lr });
  const positions = tensor(
    Int32Array.from({ length: SIZES.context }, (_, i) => i),
    { device },
  );
  const step = (inputs: Tensor, targets: Tensor) =>
    tidy(() => {
      opt.zeroGrad();
      const logits = model.forward(inputs, positions).reshape([-1, config.vocab]);
      const loss = F.crossEntropy(logits, targets);
      loss.backward();
      opt.step();
      return loss;
    });
  const run = compiled ? compile(step) : step;
  const next = batches(corpus, SIZES.batch, SIZES.context, seed + 1, device);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { inputs, targets } = next();
    const loss = run(inputs, targets);
    losses.push(await loss.item());
    options.onStep?.(s, losses.at(-1)!);
    for (const t of [loss, inputs, targets]) t.dispose();
  }
  for (const p of model.parameters()) p.dispose();
  positions.dispose();
  return losses;
}
