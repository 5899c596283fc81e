/**
 * Eager training end to end (packages/eager/README.md, "Autograd"): a small causal
 * transformer block made of nn modules learns a fixed sequence with AdamW,
 * on every device; with one seed, cpu and webgpu give the same losses
 * (dropout included: one Philox stream), and memory stays flat across steps.
 */
import { type Device, F, manualSeed, memoryStats, nn, optim, type Tensor, tensor, tidy } from '@kiln/eager';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';

class Block extends nn.Module {
  readonly emb: nn.Embedding;
  readonly ln1: nn.LayerNorm;
  readonly qkv: nn.Linear;
  readonly proj: nn.Linear;
  readonly ln2: nn.LayerNorm;
  readonly mlp: nn.Linear;
  readonly head: nn.Linear;
  readonly drop = new nn.Dropout(0.1);

  constructor(
    vocab: number,
    readonly width: number,
    device: Device,
  ) {
    super();
    this.emb = new nn.Embedding(vocab, width, { device });
    this.ln1 = new nn.LayerNorm(width, { device });
    this.qkv = new nn.Linear(width, 3 * width, { device });
    this.proj = new nn.Linear(width, width, { device });
    this.ln2 = new nn.LayerNorm(width, { device });
    this.mlp = new nn.Linear(width, width, { device });
    this.head = new nn.Linear(width, vocab, { device });
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const [C, H] = [this.width, 2];
    let x = this.emb.forward(idx);
    const heads = this.qkv
      .forward(this.ln1.forward(x))
      .split(C, -1)
      .map((t) => t.reshape([B, T, H, C / H]).transpose(1, 2));
    const att = F.scaledDotProductAttention(heads[0]!, heads[1]!, heads[2]!, { isCausal: true }).transpose(1, 2).reshape([B, T, C]);
    x = x.add(this.drop.forward(this.proj.forward(att)));
    x = x.add(F.gelu(this.mlp.forward(this.ln2.forward(x))));
    return this.head.forward(x);
  }
}

const devices = await devicesUnderTest();
const losses = new Map<Device, number[]>();

describe.each(devices)('training on %s', (device) => {
  it('a transformer block learns a sequence with AdamW; memory stays flat', async () => {
    manualSeed(0);
    const vocab = 11;
    const model = new Block(vocab, 16, device);
    const opt = new optim.AdamW(model.parameters(), { lr: 1e-2 });
    const seq = Array.from({ length: 2 }, (_, b) => Array.from({ length: 9 }, (_, t) => (7 * (9 * b + t) + 3) % vocab));
    const data = tensor(seq, { dtype: 'int32', device });
    const [inputs, targets] = [data.slice(1, 0, 8), data.slice(1, 1).reshape([-1])];
    const seen: number[] = [];
    let live = 0;
    for (let step = 0; step < 12; step++) {
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(inputs).reshape([-1, vocab]), targets);
        l.backward();
        opt.step();
        return l;
      });
      seen.push(await loss.item());
      loss.dispose();
      if (step === 1) live = memoryStats().liveTensors;
    }
    expect(memoryStats().liveTensors).toBe(live);
    expect(seen.at(-1)!).toBeLessThan(seen[0]! * 0.6);
    losses.set(device, seen);
    const cpu = losses.get('cpu');
    if (device !== 'cpu' && cpu) seen.forEach((l, i) => expect(l).toBeCloseTo(cpu[i]!, 4));
  });
});
