/**
 * Random programs for differential testing of the compiler: a seed gives a
 * small eager function mixing elementwise ops with broadcasting, views,
 * reductions, matmul, cat and composites over odd shapes, plus its input
 * shapes. The tests compile it and compare with eager on every device.
 */
import { arange, cat, F, type Tensor } from '@kiln/eager';

export interface RandomProgram {
  /** Human-readable listing of the steps (printed with the seed on a failure). */
  text: string;
  shapes: number[][];
  fn: (...xs: Tensor[]) => Tensor[];
}

type Step = (pool: Tensor[], pick: () => number, choose: <T>(xs: readonly T[]) => T) => { value: Tensor; text: string } | undefined;

const UNARY = ['exp', 'tanh', 'sigmoid', 'abs', 'neg', 'square', 'relu', 'sin', 'floor'] as const;
const BINARY = ['add', 'sub', 'mul', 'maximum', 'minimum'] as const;

const name = (pool: Tensor[], t: Tensor) => `t${pool.indexOf(t)}`;

/** Each step makes one new tensor from the pool (undefined when the chosen operands don't fit). */
const STEPS: Step[] = [
  (pool, _p, choose) => {
    const x = choose(pool);
    const op = choose(UNARY);
    // exp of large values overflows the same way in both, but keep inputs tame for relative error.
    const value = op === 'exp' ? x.tanh().exp() : x[op]();
    return { value, text: `${op}(${name(pool, x)})` };
  },
  (pool, pick, choose) => {
    const x = choose(pool);
    const op = choose(BINARY);
    const scalar = (pick() % 7) / 4 - 0.75;
    return { value: x[op](scalar), text: `${op}(${name(pool, x)}, ${scalar})` };
  },
  (pool, _p, choose) => {
    const [x, y] = [choose(pool), choose(pool)];
    const op = choose(BINARY);
    try {
      return { value: x[op](y), text: `${op}(${name(pool, x)}, ${name(pool, y)})` };
    } catch {
      return undefined; // shapes do not broadcast
    }
  },
  (pool, pick, choose) => {
    const x = choose(pool);
    if (x.ndim === 0) return undefined;
    const dim = pick() % x.ndim;
    const keep = pick() % 2 === 0;
    const op = choose(['sum', 'max', 'mean', 'min'] as const);
    return { value: x[op](dim, keep), text: `${op}(${name(pool, x)}, ${dim}, keepdim=${keep})` };
  },
  (pool, pick, choose) => {
    const x = choose(pool);
    if (x.ndim < 2) return undefined;
    const [a, b] = [pick() % x.ndim, pick() % x.ndim];
    return { value: x.transpose(a, b), text: `transpose(${name(pool, x)}, ${a}, ${b})` };
  },
  (pool, _p, choose) => {
    const x = choose(pool);
    return { value: x.reshape([-1]), text: `reshape(${name(pool, x)}, [-1])` };
  },
  (pool, pick, choose) => {
    const x = choose(pool);
    if (x.ndim === 0) return undefined;
    const dim = pick() % x.ndim;
    const size = x.shape[dim]!;
    if (size < 2) return undefined;
    const start = pick() % (size - 1);
    const step = 1 + (pick() % 2);
    return { value: x.slice(dim, start, size, step), text: `slice(${name(pool, x)}, ${dim}, ${start}, ${size}, ${step})` };
  },
  (pool, pick, choose) => {
    const x = choose(pool);
    const dim = pick() % (x.ndim + 1);
    const grown = x.unsqueeze(dim);
    const shape = grown.shape.map((s, d) => (d === dim ? 3 : s));
    return { value: grown.expand(shape), text: `expand(unsqueeze(${name(pool, x)}, ${dim}), [${shape}])` };
  },
  (pool, _p, choose) => {
    const x = choose(pool);
    if (x.ndim < 1) return undefined;
    return { value: F.softmax(x, -1), text: `softmax(${name(pool, x)}, -1)` };
  },
  (pool, _p, choose) => {
    const x = choose(pool);
    const n = x.shape.at(-1) ?? 0;
    if (n < 3) return undefined;
    // Rows made distinct first: layerNorm of a constant row divides rounding noise by sqrt(eps),
    // where any two float32 evaluation orders differ by more than the tolerance.
    const ramp = arange(n, { device: x.device }).cast('float32').mul(0.37).sin();
    return { value: F.layerNorm(x.add(ramp), [n]), text: `layerNorm(${name(pool, x)} + sin(0.37 * arange(${n})))` };
  },
  (pool, _p, choose) => {
    const [x, y] = [choose(pool), choose(pool)];
    if (x.ndim < 1 || y.ndim < 1 || x.ndim > 3 || y.ndim > 3 || x.shape.at(-1) !== y.shape.at(y.ndim === 1 ? -1 : -2)) return undefined;
    try {
      return { value: x.matmul(y), text: `matmul(${name(pool, x)}, ${name(pool, y)})` };
    } catch {
      return undefined;
    }
  },
  (pool, pick, choose) => {
    const [x, y] = [choose(pool), choose(pool)];
    if (x.ndim === 0 || x.ndim !== y.ndim) return undefined;
    const dim = pick() % x.ndim;
    if (x.shape.some((s, d) => d !== dim && s !== y.shape[d])) return undefined;
    return { value: cat([x, y.mul(2)], dim), text: `cat([${name(pool, x)}, ${name(pool, y)} * 2], ${dim})` };
  },
];

/** The program of `seed`: 1-3 inputs of rank 0-3 with sizes 1-5 (and 7), 3-9 steps, 1-2 outputs. */
export function randomProgram(seed: number): RandomProgram {
  const pick = mulberry32(seed);
  const sizes = [1, 2, 3, 4, 5, 7];
  const base = Array.from({ length: 1 + (pick() % 3) }, () => sizes[pick() % sizes.length]!);
  const shapes = Array.from({ length: 1 + (pick() % 3) }, () => {
    const rank = pick() % 4;
    return base.slice(0, rank).map((s) => (pick() % 4 === 0 ? 1 : s)); // 1s broadcast against the shared sizes
  });
  const plan = Array.from({ length: 3 + (pick() % 7) }, () => pick());
  const outputs = 1 + (pick() % 2);
  const lines: string[] = [];
  const fn = (...xs: Tensor[]): Tensor[] => {
    const pool = [...xs];
    lines.length = 0;
    const stepPick = mulberry32(seed ^ 0x5bd1e995); // re-seeded per call: the same steps every trace
    const choose = <T>(xs: readonly T[]): T => xs[stepPick() % xs.length]!;
    for (const p of plan) {
      const made = STEPS[p % STEPS.length]!(pool, stepPick, choose);
      if (made) {
        lines.push(`t${pool.length} = ${made.text}  # ${made.value.shape.join('x') || 'scalar'}`);
        pool.push(made.value);
      }
    }
    return pool.slice(-outputs);
  };
  return {
    shapes,
    fn,
    get text() {
      return [`inputs: ${shapes.map((s, i) => `t${i}[${s}]`).join(', ')}`, ...lines].join('\n');
    },
  };
}

/** A small seeded PRNG (mulberry32): non-negative 30-bit integers. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) >>> 2;
  };
}
