/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): the
 * value at stream position g depends only on (seed, g), so cpu, webgpu and
 * compiled kernels produce the same numbers, each element computed on its
 * own. Everything is u32 integer math that WGSL can spell the same way
 * (mulhi through 16-bit halves; WGSL has no 64-bit integers).
 *
 * The stream: position g is word g % 4 of the Philox block with counter
 * (floor(g / 4) as two u32 words, 0, 0) under key (seed as two u32 words).
 * - uniform [0, 1): the top 24 bits of the word, times 2^-24.
 * - normal: Box-Muller on the word pair of g's half-block: u1 from the even
 *   word (in (0, 1], so the log is finite), u2 from the odd; even positions
 *   take the cosine, odd ones the sine.
 * Each random op consumes `numel` positions from a global offset, so two
 * ops never share numbers and a seed replays the same sequence of ops.
 */
import { check, checkArg } from './checks';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_32 = 4294967296;
const TWO_M24 = 1 / 16777216;

/** High 32 bits of the 64-bit product of two u32 (in 16-bit halves, so no step exceeds 2^32). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const mid = ((aLo * bLo) >>> 16) + (hilo & 0xffff) + (lohi & 0xffff);
  return (aHi * bHi + (hilo >>> 16) + (lohi >>> 16) + (mid >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: writes 4 u32 words into `out`. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** The two u32 words of a non-negative integer below 2^53 (low first). */
export function splitU64(n: number): [number, number] {
  return [n >>> 0, Math.floor(n / TWO_32) >>> 0];
}

/** Fills `out` with stream positions offset .. offset + out.length - 1 (see the module comment). */
export function philoxFill(out: Float32Array, dist: 'uniform' | 'normal', seed: number, offset: number): void {
  const [k0, k1] = splitU64(seed);
  const words = new Uint32Array(4);
  let block = -1;
  for (let i = 0; i < out.length; i++) {
    const g = offset + i;
    const b = Math.floor(g / 4);
    if (b !== block) {
      block = b;
      const [c0, c1] = splitU64(b);
      philox4x32(c0, c1, 0, 0, k0, k1, words);
    }
    const j = g - b * 4;
    if (dist === 'uniform') {
      out[i] = (words[j]! >>> 8) * TWO_M24;
    } else {
      const pair = j & 2;
      const u1 = ((words[pair]! >>> 8) + 1) * TWO_M24;
      const u2 = (words[pair + 1]! >>> 8) * TWO_M24;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * ((j & 1) === 0 ? Math.cos(2 * Math.PI * u2) : Math.sin(2 * Math.PI * u2));
    }
  }
}

/**
 * The same generator in WGSL: `kiln_random(pos, key, dist)` is the value at
 * stream position `pos` (two u32 words, low first) under `key`; dist 0 is
 * uniform, 1 normal. For kernels that take (offset + element index) as a u64
 * split into words.
 */
export const PHILOX_WGSL = `fn kiln_mulhi(a: u32, b: u32) -> u32 {
  let aLo = a & 0xffffu; let aHi = a >> 16u; let bLo = b & 0xffffu; let bHi = b >> 16u;
  let hilo = aHi * bLo; let lohi = aLo * bHi;
  let mid = ((aLo * bLo) >> 16u) + (hilo & 0xffffu) + (lohi & 0xffffu);
  return aHi * bHi + (hilo >> 16u) + (lohi >> 16u) + (mid >> 16u);
}
fn kiln_philox(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2u(0x9e3779b9u, 0xbb67ae85u); }
    let hi0 = kiln_mulhi(0xd2511f53u, c.x); let lo0 = 0xd2511f53u * c.x;
    let hi1 = kiln_mulhi(0xcd9e8d57u, c.z); let lo1 = 0xcd9e8d57u * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}
fn kiln_random(pos: vec2u, key: vec2u, dist: u32) -> f32 {
  let block = vec2u((pos.x >> 2u) | (pos.y << 30u), pos.y >> 2u);
  let w = kiln_philox(vec4u(block, 0u, 0u), key);
  let j = pos.x & 3u;
  if (dist == 0u) { return f32(w[j] >> 8u) * (1.0 / 16777216.0); }
  let pair = j & 2u;
  let r = sqrt(-2.0 * kiln_log_unit(f32((w[pair] >> 8u) + 1u) * (1.0 / 16777216.0)));
  return r * kiln_turn(w[pair + 1u] >> 8u, (j & 1u) == 0u);
}
// WGSL's log, sin and cos may be off by 2^-21 and 2^-11 absolute (lavapipe's are, by ~1e-5 here),
// while the cpu rounds the double results: these two are within a few float32 ulps of them.
// log(u) for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(s), s = (m - 1) / (m + 1).
fn kiln_log_unit(u: f32) -> f32 {
  let parts = frexp(u);
  var m = parts.fract;
  var e = f32(parts.exp);
  if (m < 0.70710678) { m = m * 2.0; e = e - 1.0; }
  let s = (m - 1.0) / (m + 1.0);
  let s2 = s * s;
  let series = s * (2.0 + s2 * (0.6666667 + s2 * (0.4 + s2 * (0.2857143 + s2 * (0.2222222 + s2 * 0.1818182)))));
  return e * 0.693145752 + (e * 1.42860677e-6 + series);
}
// cos (first) or sin of 2 pi k / 2^24 for a 24-bit k: the quadrant from the top 2 bits, then a
// polynomial over an angle in [0, pi/4] (a quadrant's far half uses the complement).
fn kiln_turn(k: u32, cosine: bool) -> f32 {
  let q = k >> 22u;
  let f = f32(k & 0x3fffffu) * (1.0 / 4194304.0);
  let far = f > 0.5;
  let x = select(f, 1.0 - f, far) * 1.5707963267948966;
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-0.16666667 + x2 * (0.008333333 + x2 * (-0.0001984127 + x2 * 2.7557319e-6))));
  let c = 1.0 + x2 * (-0.5 + x2 * (0.041666667 + x2 * (-0.0013888889 + x2 * (2.4801587e-5 - x2 * 2.7557319e-7))));
  let sinQ = select(s, c, far); // sin and cos of the angle within the quadrant
  let cosQ = select(c, s, far);
  let sinA = array<f32, 4>(sinQ, cosQ, -sinQ, -cosQ)[q];
  let cosA = array<f32, 4>(cosQ, -sinQ, -cosQ, sinQ)[q];
  return select(sinA, cosA, cosine);
}`;

const state = { seed: 0, offset: 0 };

const SEED = check<number>('a non-negative integer below 2^53', (v) => Number.isSafeInteger(v) && (v as number) >= 0);

/** Restarts the global stream at position 0 under `seed` (a non-negative integer below 2^53). */
export function manualSeed(seed: number): void {
  state.seed = checkArg('manualSeed', 'seed', seed, SEED);
  state.offset = 0;
}

/** The seed and first stream position of a random op of `n` elements; advances the global offset past them. */
export function takeRandom(n: number): { seed: number; offset: number } {
  const taken = { seed: state.seed, offset: state.offset };
  state.offset += n;
  return taken;
}
