import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { randn, tensor, zeros } from './creation';
import { F } from './functional';
import { memoryStats, tidy } from './memory';
import type { Tensor } from './tensor';

describe('memory', () => {
  it('10k eager steps inside tidy keep memoryStats flat', () => {
    const x = randn([8, 16]);
    let w = randn([16, 16]);
    const before = memoryStats();
    for (let step = 0; step < 10_000; step++) {
      // A training-like step: a forward pass, a loss, and an update that replaces the weight.
      const next = tidy(() => {
        const loss = F.gelu(x.matmul(w)).softmax(-1).mean();
        return w.sub(w.mul(loss).mul(1e-3));
      });
      w.dispose();
      w = next;
    }
    expect(memoryStats()).toEqual(before);
  });

  it('tidy keeps what is returned (nested in arrays and objects) and frees the rest', () => {
    const before = memoryStats().liveTensors;
    const out = tidy(() => {
      const a = zeros([2]);
      const inner = tidy(() => ({ b: a.add(1), rest: [a.add(2)], tmp: undefined }));
      a.add(3);
      return { pair: [inner.b, inner.rest[0]!] };
    });
    expect(memoryStats().liveTensors).toBe(before + 2);
    out.pair.forEach((t) => t.dispose());
    expect(memoryStats().liveTensors).toBe(before);
  });

  it('tidy frees everything when its function throws', () => {
    const before = memoryStats();
    expect(() =>
      tidy(() => {
        zeros([100]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(memoryStats()).toEqual(before);
  });

  it('a view keeps its base storage alive; disposing a view leaves the base intact', async () => {
    const before = memoryStats();
    const base = tensor([
      [1, 2],
      [3, 4],
    ]);
    const view = base.transpose(0, 1);
    expect(view.storage).toBe(base.storage); // a view, not a copy
    expect(memoryStats().bytes.cpu).toBe(before.bytes.cpu + 16);
    base.dispose();
    expect(memoryStats().bytes.cpu).toBe(before.bytes.cpu + 16);
    expect(await view.toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const other = view.reshape([4]); // needs a copy: a new storage
    expect(other.storage).not.toBe(view.storage);
    view.dispose();
    expect(memoryStats().bytes.cpu).toBe(before.bytes.cpu + 16);
    expect(await other.toArray()).toEqual([1, 3, 2, 4]);
    other.dispose();
    expect(memoryStats()).toEqual(before);
  });

  it('in-place ops write through views into the shared storage and bump its version', async () => {
    const base = zeros([3, 4]);
    const col = base.slice(1, 1, 4, 2); // columns 1 and 3
    const v0 = base.version;
    col.fill_(1);
    col.add_(tensor([10, 20]));
    expect(base.version).toBe(v0 + 2);
    expect(col.version).toBe(base.version);
    expect(await base.toArray()).toEqual([
      [0, 11, 0, 21],
      [0, 11, 0, 21],
      [0, 11, 0, 21],
    ]);
    base.mul_(2).zero_();
    expect(await col.toArray()).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    // Overlapping source and destination in one storage: the source is read before it is overwritten.
    const row = tensor([1, 2, 3, 4, 5]);
    row.slice(0, 1).copy_(row.slice(0, 0, 4));
    expect(await row.toArray()).toEqual([1, 1, 2, 3, 4]);
  });

  it('the FinalizationRegistry backstop releases tensors that are never disposed', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = memoryStats();
    (() => {
      for (let i = 0; i < 50; i++) zeros([1000]);
    })();
    expect(memoryStats().liveTensors).toBe(before.liveTensors + 50);
    for (let attempt = 0; attempt < 50 && memoryStats().liveTensors > before.liveTensors; attempt++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    // At most what was live before (earlier tests' undisposed tensors may be collected too).
    expect(memoryStats().liveTensors).toBeLessThanOrEqual(before.liveTensors);
    expect(memoryStats().bytes.cpu).toBeLessThanOrEqual(before.bytes.cpu);
  });

  it('tidy refuses async functions', () => {
    expect(() => tidy(async () => zeros([1]) as Tensor)).toThrow('tidy: fn returned a Promise');
  });
});
