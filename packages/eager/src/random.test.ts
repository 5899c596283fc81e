import { describe, expect, it } from 'vitest';
import { rand, randn, zeros } from './creation';
import { F } from './functional';
import { manualSeed, philox4x32, philoxFill } from './random';
import { philoxRef, streamRef } from './testing/reference';

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => w.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10', () => {
  // Known-answer vectors from Random123's kat_vectors (Salmon et al., SC'11).
  const KAT: [number[], number[], string][] = [
    [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
  ];

  it.each(KAT)('counter %j key %j gives %s', (c, k, expected) => {
    const out = new Uint32Array(4);
    philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out);
    expect(hex(out)).toBe(expected);
    expect(hex(philoxRef(c, k))).toBe(expected); // the tests' BigInt reference agrees
  });

  it('matches the BigInt reference on random counters and keys', () => {
    const out = new Uint32Array(4);
    for (let i = 0; i < 200; i++) {
      const w = Array.from({ length: 6 }, (_, j) => (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(j + 7, 0x85ebca6b)) >>> 0);
      philox4x32(w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, out);
      expect(Array.from(out)).toEqual(philoxRef(w.slice(0, 4), w.slice(4)));
    }
  });

  it('each stream position depends only on (seed, position)', () => {
    const whole = new Float32Array(37);
    philoxFill(whole, 'normal', 9, 5);
    const tail = new Float32Array(20);
    philoxFill(tail, 'normal', 9, 22);
    expect(Array.from(tail)).toEqual(Array.from(whole.slice(17)));
    expect(Array.from(whole)).toEqual(Array.from(Float32Array.from(streamRef(37, 'normal', 9, 5))));
  });
});

describe('rand, randn, dropout', () => {
  it('a seed replays the same sequence of ops; the offset moves on between ops', async () => {
    manualSeed(123);
    const a = await rand([100]).toArray();
    const b = await rand([100]).toArray();
    manualSeed(123);
    expect(await rand([100]).toArray()).toEqual(a);
    expect(b).not.toEqual(a);
  });

  it('rand is uniform on [0, 1)', async () => {
    manualSeed(1);
    const u = Array.from(await rand([200_000]).data());
    const mean = u.reduce((s, x) => s + x, 0) / u.length;
    const variance = u.reduce((s, x) => s + (x - mean) ** 2, 0) / u.length;
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // sd of the mean is 0.00065
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    const deciles = new Array<number>(10).fill(0);
    for (const x of u) deciles[Math.floor(x * 10)]++;
    for (const d of deciles) expect(Math.abs(d / u.length - 0.1)).toBeLessThan(0.005);
  });

  it('randn is standard normal', async () => {
    manualSeed(2);
    const z = Array.from(await randn([200_000]).data());
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const within1 = z.filter((x) => Math.abs(x) < 1).length / z.length;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.005);
    expect(z.every(Number.isFinite)).toBe(true);
  });

  it('dropout zeroes about p of the elements and scales the rest', async () => {
    manualSeed(3);
    const y = Array.from(await F.dropout(zeros([100_000]).add(1), 0.25).data());
    const kept = y.filter((v) => v !== 0);
    expect(Math.abs(1 - kept.length / y.length - 0.25)).toBeLessThan(0.01);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
  });
});
