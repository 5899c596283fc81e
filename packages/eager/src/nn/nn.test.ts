import { describe, expect, it } from 'vitest';
import { noGrad } from '../autograd/grad-mode';
import { arange, randn, tensor } from '../creation';
import { F } from '../functional';
import { memoryStats, tidy } from '../memory';
import { manualSeed } from '../random';
import type { Tensor } from '../tensor';
import { devicesUnderTest } from '../testing/devices';
import { Dropout, Embedding, LayerNorm, Linear, Module } from './index';

class Block extends Module {
  readonly ln = new LayerNorm(4);
  readonly layers = [new Linear(4, 8), new Linear(8, 4, { bias: false })];
  readonly drop = new Dropout(0.1);
  readonly scale = tensor([2]);

  forward(x: Tensor): Tensor {
    return this.drop.forward(this.layers[1]!.forward(this.layers[0]!.forward(this.ln.forward(x)).relu())).mul(this.scale);
  }
}

describe('Module', () => {
  it('finds parameters in tensor fields, children in module fields and arrays, with dotted names', () => {
    const b = new Block();
    expect(b.namedParameters().map(([n]) => n)).toEqual([
      'ln.weight',
      'ln.bias',
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'scale',
    ]);
    expect(b.parameters()[2]).toBe(b.layers[0]!.weight);
    expect(b.namedChildren().map(([n]) => n)).toEqual(['ln', 'layers.0', 'layers.1', 'drop']);
    expect(b.children()).toHaveLength(4);
  });

  it('lists a shared parameter once', () => {
    class Tied extends Module {
      readonly emb = new Embedding(5, 3);
      readonly out = this.emb.weight;
      forward(i: Tensor): Tensor {
        return this.emb.forward(i).matmul(this.out.transpose(0, 1));
      }
    }
    expect(new Tied().namedParameters().map(([n]) => n)).toEqual(['emb.weight']);
  });

  it('train() and eval() set the mode of every module inside', () => {
    const b = new Block().eval();
    expect([b.training, b.drop.training, b.layers[0]!.training]).toEqual([false, false, false]);
    b.train();
    expect(b.drop.training).toBe(true);
  });

  it('parameters are leaves that require grad, outlive tidy, and are cleared by zeroGrad', () => {
    const before = memoryStats().liveTensors;
    const lin = tidy(() => new Linear(3, 2));
    expect(memoryStats().liveTensors).toBe(before + 2);
    expect([lin.weight.requiresGrad, lin.weight.isLeaf, lin.weight.shape, lin.bias!.shape]).toEqual([true, true, [2, 3], [2]]);
    lin
      .forward(randn([5, 3]))
      .sum()
      .backward();
    expect(lin.weight.grad).not.toBeNull();
    lin.zeroGrad();
    expect([lin.weight.grad, lin.bias!.grad]).toEqual([null, null]);
  });
});

describe('layers', () => {
  it('Linear is F.linear with PyTorch initialization: uniform within 1 / sqrt(in)', async () => {
    manualSeed(0);
    const lin = new Linear(16, 32);
    const w = Array.from(await lin.weight.data());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.2);
    const x = randn([4, 16]);
    expect(await lin.forward(x).toArray()).toEqual(await F.linear(x, lin.weight, lin.bias!).toArray());
    expect(new Linear(2, 3, { bias: false }).bias).toBeNull();
  });

  it('LayerNorm starts as the plain normalization (weight ones, bias zeros)', async () => {
    const ln = new LayerNorm([2, 3], { eps: 1e-3 });
    const x = randn([4, 2, 3]);
    expect([ln.weight!.shape, ln.bias!.shape, ln.eps]).toEqual([[2, 3], [2, 3], 1e-3]);
    expect(await ln.forward(x).toArray()).toEqual(await F.layerNorm(x, [2, 3], undefined, undefined, 1e-3).toArray());
    expect(new LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
  });

  it('Embedding looks rows up; Dropout drops only while training', async () => {
    const emb = new Embedding(10, 3);
    expect(emb.forward(arange(6).reshape([2, 3])).shape).toEqual([2, 3, 3]);
    const drop = new Dropout(0.5);
    const x = randn([100]);
    expect(await drop.eval().forward(x).toArray()).toEqual(await x.toArray());
    const zeros = Array.from(await drop.train().forward(x).data()).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(20);
  });

  it('check their arguments', () => {
    expect(() => new Linear(0, 2)).toThrow('Linear: inFeatures must be a positive integer, got 0');
    expect(() => new Linear(2, 2, { biass: true } as never)).toThrow("Linear: unknown option 'biass'");
    expect(() => new LayerNorm([])).not.toThrow();
    expect(() => new Dropout(1.5)).toThrow('Dropout: p must be a number in [0, 1], got 1.5');
  });
});

describe.each(await devicesUnderTest())('a model on %s', (device) => {
  it('trains: the loss of a small MLP on a fixed batch goes down, and its gradients reach every parameter', async () => {
    manualSeed(1);
    const l1 = new Linear(4, 16, { device });
    const ln = new LayerNorm(16, { device });
    const l2 = new Linear(16, 3, { device });
    const x = randn([8, 4], { device });
    const y = arange(8, { device }).mul(7).sub(arange(8, { device }).mul(7).div(3).floor().mul(3)).cast('int32');
    const loss = () => F.crossEntropy(l2.forward(F.gelu(ln.forward(l1.forward(x)))), y);
    const first = await loss().item();
    for (let i = 0; i < 30; i++) {
      tidy(() => {
        const l = loss();
        l.backward();
        for (const p of [...l1.parameters(), ...ln.parameters(), ...l2.parameters()]) {
          expect(p.grad!.device).toBe(device);
          noGrad(() => p.add_(p.grad!.mul(-0.5)));
          p.grad = null;
        }
      });
    }
    expect(await loss().item()).toBeLessThan(first * 0.5);
  });
});
