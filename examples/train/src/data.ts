/**
 * The training text (./kiln-notes.txt, written for this example) as token
 * ids, and seeded batches of windows from it: inputs [B, T] and the next
 * characters as targets [B·T].
 */
import { readFileSync } from 'node:fs';
import { type Device, type Tensor, tensor } from '@kiln/eager';

export interface Corpus {
  /** The distinct characters, sorted: id i is `chars[i]`. */
  readonly chars: readonly string[];
  readonly ids: Int32Array;
}

export function loadCorpus(): Corpus {
  const text = readFileSync(new URL('./kiln-notes.txt', import.meta.url), 'utf8');
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  return { chars, ids: Int32Array.from(text, (c) => index.get(c)!) };
}

/** A small seeded generator (mulberry32): the same windows on every device and run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface Batch {
  readonly inputs: Tensor;
  readonly targets: Tensor;
}

/** Batches of `batch` windows of `length` characters, drawn from `seed`. */
export function batches(corpus: Corpus, batch: number, length: number, seed: number, device: Device): () => Batch {
  const random = generator(seed);
  return () => {
    const inputs = new Int32Array(batch * length);
    const targets = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(random() * (corpus.ids.length - length - 1));
      inputs.set(corpus.ids.subarray(start, start + length), b * length);
      targets.set(corpus.ids.subarray(start + 1, start + length + 1), b * length);
    }
    return {
      inputs: tensor(inputs, { device }).reshape([batch, length]),
      targets: tensor(targets, { device }),
    };
  };
}
