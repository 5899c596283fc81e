/**
 * Random programs for differential testing: a seed gives an eager function,
 * written out as JavaScript source (so a failure prints a program a person
 * can run), and the inputs it takes. Programs mix what people write:
 * elementwise chains with broadcasting and scalars (special values among
 * them), every reduction with and without keepdim, views, several matmuls
 * and what combines them, composites (softmax, layerNorm, attention, ...),
 * index ops with in-range indices, casts between float32, int32 and bool,
 * creation ops, in-place writes, and graph breaks. Inputs come in every
 * layout a caller can pass (offset and step slices, transposes, expands),
 * with values that are ordinary, special (NaN, ±Inf, ±0) or near float32's
 * limits.
 *
 * Some float32 inputs require grad: the checks then compare, besides the
 * outputs, every input's gradient of a weighted sum of the outputs.
 *
 * A program is data (steps over numbered values), so it can be shrunk: a
 * step is an expression with `$k` standing for the k-th value it uses.
 * Steps are kept only if they are valid, checked by running them on
 * symbolic tensors (shapes and dtypes only).
 */
import {
  arange,
  cat,
  type DType,
  F,
  full,
  type Mode,
  metaStorage,
  randn,
  stack,
  Tensor,
  type TensorMeta,
  views,
  where,
  withMode,
} from '@kiln/eager';
import { disable } from '../capture/disable';

export type Layout = 'contiguous' | 'offset' | 'step' | 'transpose' | 'expand';
/** What an input's values are: float32 regimes (ordinary, special, near the largest or the smallest normal), small int32 values, bools, or indices in [0, bound). */
export type Values = 'normal' | 'special' | 'extreme' | 'tiny' | 'int' | 'bool' | 'index';

export interface ProgramInput {
  shape: number[];
  dtype: DType;
  layout: Layout;
  values: Values;
  /** Index inputs: every value is in [0, bound). */
  bound?: number;
  /** The input requires grad (ordinary float32 values only). */
  grad?: boolean;
}

export interface Step {
  /** A JS expression; `$k` is the k-th entry of `uses`. */
  expr: string;
  /** Value numbers (inputs first, then earlier steps) the expression reads. */
  uses: number[];
  /** The result is rounded (float arithmetic): devices and fusion may differ in its last bits. */
  rounds?: boolean;
  /** The result jumps with a tiny change of a float operand (a comparison, floor, a cast to int or bool, argmax). */
  fragile?: boolean;
  /** A sum or product over many elements (reductions, matmul, norms): cpu accumulates in float64, webgpu in float32. */
  accumulates?: boolean;
  /** A matrix product (matmul, linear). */
  matmul?: boolean;
  /** An in-place write: into a copy of `$0` (`$0.mul(1).add_($1)`), or into `$0` itself, which the caller sees when `$0` is an input. */
  inPlace?: 'copy' | 'operand';
  /** A call of `brk`, a function marked with disable(): a graph break. */
  breaks?: boolean;
  /** A scalar beyond ±1e38 enters the result: like an input near float32's limits, it can overflow a later sum on one device and not on another. */
  huge?: boolean;
  /** A reciprocal or quotient (reciprocal, rsqrt, div, pow): from a huge operand it can come out below the smallest normal, which webgpu may flush. */
  inverts?: boolean;
  /** Its gradient is singular where its value is 0 (std: (x - mean) / std), so rounding decides between NaN and a number there. */
  singularGrad?: boolean;
  /**
   * A spread (var, std): 0 for equal elements, but in float32 the rounding
   * noise of their mean, whose size and whether it is exactly 0 depend on
   * the summation order.
   */
  spread?: boolean;
  /** Sums to 0 along a dim (layerNorm's output): a sum over it is rounding noise, as a spread of equal elements is. */
  centered?: boolean;
  /** Its error grows without bound as an operand nears 0 (reciprocal, rsqrt, div, pow, log): of rounding noise it makes noise of any size. */
  blowsUpAtZero?: boolean;
}

export interface Program {
  seed: number;
  inputs: ProgramInput[];
  steps: Step[];
  /** Values returned, by number. */
  outputs: number[];
}

/** Names a program's source may use besides its parameters (bound by `buildFunction`). */
const LIBRARY = { F, cat, stack, where, arange, full, randn, brk: disable((t: Tensor) => t.abs().add(1).log()) };

/** The program as source: `(x0, x1) => { const t2 = ...; return [t2]; }`. */
export function programSource(p: Program): string {
  const name = (v: number) => (v < p.inputs.length ? `x${v}` : `t${v}`);
  const lines = p.steps.map(
    (s, i) => `  const ${name(p.inputs.length + i)} = ${s.expr.replace(/\$(\d+)/g, (_, k: string) => name(s.uses[Number(k)]!))};`,
  );
  return `(${p.inputs.map((_, i) => `x${i}`).join(', ')}) => {\n${lines.join('\n')}\n  return [${p.outputs.map(name).join(', ')}];\n}`;
}

/** The listing printed with a failure: inputs, then the source. */
export function programText(p: Program): string {
  const inputs = p.inputs.map(
    (x, i) =>
      `x${i}: ${x.dtype}[${x.shape}] ${x.layout}, ${x.values}${x.bound !== undefined ? ` < ${x.bound}` : ''}${x.grad ? ', requires grad' : ''}`,
  );
  return `seed ${p.seed}\n${inputs.join('\n')}\n${programSource(p)}`;
}

export type ProgramFn = (...xs: Tensor[]) => Tensor[];

/**
 * Values whose exact result depends on rounding that devices, and fused
 * kernels, may do differently: a fragile step applied to a rounded value
 * (`sum(x) > 0`, `floor(exp(x))`), a reciprocal, quotient or log of what
 * may be rounding noise around 0 (`x.var(0).pow(-2)`: of equal elements,
 * 0 in one order and 1e-14 in another; `layerNorm(x).sum().log()`), and
 * everything computed from one. Any two correct
 * implementations can disagree there, so checks compare them only for
 * shape and dtype.
 */
export function unstableValues(p: Program): Set<number> {
  const rounded = new Set<number>();
  const centered = new Set<number>();
  const noise = new Set<number>();
  const unstable = new Set<number>();
  p.steps.forEach((s, i) => {
    const v = p.inputs.length + i;
    const amplified = s.blowsUpAtZero && s.uses.some((u) => noise.has(u));
    if (s.uses.some((u) => unstable.has(u)) || (s.fragile && s.uses.some((u) => rounded.has(u))) || amplified) unstable.add(v);
    if (s.rounds || s.uses.some((u) => rounded.has(u))) rounded.add(v);
    if (s.centered || s.uses.some((u) => centered.has(u))) centered.add(v);
    // What may be rounding noise: a spread, a sum over a centered value, and what is computed from either.
    if (s.spread || (s.accumulates && s.uses.some((u) => centered.has(u))) || s.uses.some((u) => noise.has(u))) noise.add(v);
  });
  return unstable;
}

/**
 * Values that may legitimately differ between devices on inputs near
 * float32's limits: a sum or product that overflows float32 part way
 * finishes finite on cpu (float64 accumulators, as PyTorch's cpu kernels)
 * and infinite on webgpu; and arithmetic on values near the smallest normal
 * (tiny inputs, and reciprocals or quotients of huge values) goes through
 * subnormals, which webgpu may flush to zero. What is computed
 * so is compared across devices for shape and dtype only.
 */
export function deviceDependentValues(p: Program): Set<number> {
  const huge = new Set(p.inputs.flatMap((x, i) => (x.values === 'extreme' ? [i] : [])));
  const tiny = new Set(p.inputs.flatMap((x, i) => (x.values === 'tiny' ? [i] : [])));
  const out = new Set<number>();
  p.steps.forEach((s, i) => {
    const v = p.inputs.length + i;
    const fromHuge = s.huge || s.uses.some((u) => huge.has(u));
    if (s.uses.some((u) => out.has(u)) || (s.rounds && s.uses.some((u) => tiny.has(u)))) out.add(v);
    else if (fromHuge) (s.accumulates ? out : huge).add(v);
    else if (s.uses.some((u) => tiny.has(u))) tiny.add(v);
    if (fromHuge && s.inverts) tiny.add(v);
  });
  return out;
}

/**
 * Values that may legitimately differ between two orders of one reduction
 * on one device (eager's, and a fused row kernel's, which splits rows into
 * lanes): a sum or product over values near float32's limits can overflow
 * or underflow part way in one order and not in the other (±Infinity, 0 or
 * NaN). Compiled and eager compare them for shape and dtype only.
 */
export function orderDependentValues(p: Program): Set<number> {
  const limits = new Set(p.inputs.flatMap((x, i) => (x.values === 'extreme' || x.values === 'tiny' ? [i] : [])));
  const out = new Set<number>();
  p.steps.forEach((s, i) => {
    const v = p.inputs.length + i;
    if (s.uses.some((u) => out.has(u))) out.add(v);
    else if (s.huge || s.uses.some((u) => limits.has(u))) (s.accumulates ? out : limits).add(v);
  });
  return out;
}

/**
 * Values whose gradient may legitimately differ between two correct
 * implementations: the unstable values (see unstableValues), and values
 * computed from inputs with special, extreme or tiny values (their
 * gradients overflow or vanish depending on the order of operations).
 */
export function gradUnstableValues(p: Program): Set<number> {
  const out = unstableValues(p);
  p.inputs.forEach((x, i) => {
    if (x.dtype === 'float32' && x.values !== 'normal') out.add(i);
  });
  p.steps.forEach((s, i) => {
    if (s.uses.some((u) => out.has(u))) out.add(p.inputs.length + i);
  });
  return out;
}

/** The program as a function (a fresh function each call: compile caches per function). */
export function buildFunction(p: Program): ProgramFn {
  const names = Object.keys(LIBRARY);
  return new Function(...names, `return ${programSource(p)};`)(...Object.values(LIBRARY)) as ProgramFn;
}

// ---- generation ------------------------------------------------------------

const SIZES = [1, 2, 3, 4, 5, 7];
const F32_MAX = 3.4028234663852886e38;
/** Scalars programs use: ordinary ones, and every float32 edge (beyond its range, NaN, ±Inf, -0, subnormal). */
const SCALARS = [2, -1, 0.5, 1.5, -0.75, 3, 0, 1, -0, 0.1, NaN, Infinity, -Infinity, 3.5e38, F32_MAX, -F32_MAX, 1e-40, 1e-30];
const ORDINARY = SCALARS.slice(0, 10);
const UNARY = [
  'neg',
  'abs',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'tanh',
  'sigmoid',
  'relu',
  'erf',
  'square',
  'reciprocal',
  'floor',
  'ceil',
  'round',
  'sign',
  'silu',
] as const;
const BINARY = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'logicalAnd',
  'logicalOr',
] as const;
const EXACT_UNARY = new Set<string>(['neg', 'abs', 'relu', 'floor', 'ceil', 'round', 'sign']);
const FRAGILE_UNARY = new Set<string>(['floor', 'ceil', 'round', 'sign']);
const ROUNDING_BINARY = new Set<string>(['add', 'sub', 'mul', 'div', 'pow']);
const INVERTING = new Set<string>(['reciprocal', 'rsqrt', 'div', 'pow']);
const BLOWS_UP_AT_ZERO = new Set<string>([...INVERTING, 'log']);
/** The Step flags of an op that may divide (see Step.inverts, Step.blowsUpAtZero). */
const divides = (op: string) => ({ inverts: INVERTING.has(op), blowsUpAtZero: BLOWS_UP_AT_ZERO.has(op) });
const FRAGILE_BINARY = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);
const REDUCE = ['sum', 'prod', 'max', 'min', 'argmax', 'argmin', 'any', 'all', 'mean', 'logsumexp'] as const;

/** A small seeded PRNG (mulberry32): non-negative 30-bit integers. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) >>> 2;
  };
}

class Rng {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 30 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const lit = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
/** The mark of a step that brings in scalar `c` (see Step.huge). */
const hugeIf = (c: number): { huge?: true } => (Number.isFinite(c) && Math.abs(c) >= 1e38 ? { huge: true } : {});
const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;

/** What a step generator sees: the values so far (symbolic tensors) and the inputs. */
interface Pool {
  rng: Rng;
  values: Tensor[];
  inputs: ProgramInput[];
  /** A value number, preferring recent ones (programs are chains more than fans). */
  any(filter?: (t: Tensor, v: number) => boolean): number | undefined;
  /**
   * Size `dim` of `$0` less `minus`, as source: the number, or (half the
   * time) read from `$0.shape`, as code that works at any size writes it.
   */
  sizeOf(t: Tensor, dim: number, minus?: number): string;
}

type StepGen = (pool: Pool) => Step | undefined;

const floats = (t: Tensor) => t.dtype === 'float32';

const STEPS: { weight: number; make: StepGen }[] = [
  // elementwise
  {
    weight: 6,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const op = p.rng.pick(UNARY);
      return {
        expr: `$0.${op}()`,
        uses: [v],
        rounds: !EXACT_UNARY.has(op),
        fragile: FRAGILE_UNARY.has(op),
        ...divides(op),
      };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const op = p.rng.pick(['sin', 'cos'] as const);
      // WGSL's sin and cos are accurate on moderate arguments only (the numeric contract in the repository's README.md),
      // and sin(y) moves by about |y| times y's rounding error: one float32 ulp of a y near 1000 (6e-5) is past the atol
      // however well sin is computed; near 30 four ulps (8e-6) are inside it.
      return { expr: `$0.clamp(-30, 30).${op}()`, uses: [v], rounds: true };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const v = p.any(floats);
      if (v === undefined) return undefined;
      return { expr: `$0.gelu({ approximate: '${p.rng.pick(['none', 'tanh'])}' })`, uses: [v], rounds: true };
    },
  },
  {
    weight: 6,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const op = p.rng.pick(BINARY);
      const c = p.rng.chance(0.3) ? p.rng.pick(SCALARS) : p.rng.pick(ORDINARY);
      const kind = {
        rounds: ROUNDING_BINARY.has(op),
        fragile: FRAGILE_BINARY.has(op),
        ...divides(op),
        ...hugeIf(c),
      };
      return p.rng.chance(0.8)
        ? { expr: `$0.${op}(${lit(c)})`, uses: [v], ...kind }
        : { expr: `full([], ${lit(c)}, { device: $0.device }).${op}($0)`, uses: [v], ...kind };
    },
  },
  {
    weight: 6,
    make: (p) => {
      const [a, b] = [p.any(), p.any()];
      if (a === undefined || b === undefined) return undefined;
      const op = p.rng.pick(BINARY);
      return {
        expr: `$0.${op}($1)`,
        uses: [a, b],
        rounds: ROUNDING_BINARY.has(op),
        fragile: FRAGILE_BINARY.has(op),
        ...divides(op),
      };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const [c, a, b] = [p.any(), p.any(), p.any()];
      if (c === undefined || a === undefined || b === undefined) return undefined;
      const cond = p.values[c]!.dtype === 'bool' ? '$0' : `$0.gt(${lit(p.rng.pick(ORDINARY))})`;
      const fragile = cond !== '$0';
      if (p.rng.chance(0.7)) return { expr: `where(${cond}, $1, $2)`, uses: [c, a, b], fragile };
      const k = p.rng.pick(SCALARS);
      return { expr: `where(${cond}, $1, ${lit(k)})`, uses: [c, a], fragile, ...hugeIf(k) };
    },
  },
  {
    weight: 3,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const to = p.rng.pick(['float32', 'int32', 'bool'] as const);
      return { expr: `$0.cast('${to}')`, uses: [v], fragile: to !== 'float32' };
    },
  },
  {
    weight: 1,
    make: (p) => {
      const v = p.any(floats);
      if (v === undefined) return undefined;
      const [lo, hi] = [p.rng.pick([-1, -0.5, 0, null]), p.rng.pick([1, 0.5, 2, null])];
      return lo === null && hi === null ? undefined : { expr: `$0.clamp(${lo}, ${hi})`, uses: [v] };
    },
  },
  // reductions
  {
    weight: 5,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const t = p.values[v]!;
      const op = p.rng.pick([...REDUCE, 'var', 'std'] as const);
      const keep = p.rng.chance(0.5);
      const dim =
        t.ndim === 0 || p.rng.chance(0.15)
          ? 'null'
          : t.ndim > 1 && p.rng.chance(0.25)
            ? list([0, t.ndim - 1])
            : String(p.rng.int(t.ndim) - (p.rng.chance(0.3) ? t.ndim : 0));
      if ((op === 'argmax' || op === 'argmin') && dim.startsWith('[')) return undefined;
      const rounds = !['max', 'min', 'argmax', 'argmin', 'any', 'all'].includes(op);
      return {
        expr: `$0.${op}(${dim}, ${keep})`,
        uses: [v],
        rounds,
        accumulates: rounds,
        fragile: ['argmax', 'argmin', 'any', 'all'].includes(op),
        singularGrad: op === 'std',
        spread: op === 'var' || op === 'std',
      };
    },
  },
  // views
  {
    weight: 5,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const t = p.values[v]!;
      const d = () => p.rng.int(Math.max(t.ndim, 1));
      switch (p.rng.int(8)) {
        case 0:
          return { expr: `$0.reshape([-1])`, uses: [v] };
        case 1:
          return t.ndim < 2 ? undefined : { expr: `$0.transpose(${d()}, ${d()})`, uses: [v] };
        case 2:
          return t.ndim < 2 ? undefined : { expr: `$0.permute(${list([...Array(t.ndim).keys()].reverse())})`, uses: [v] };
        case 3:
          return { expr: `$0.unsqueeze(${p.rng.int(t.ndim + 1)})`, uses: [v] };
        case 4:
          return { expr: `$0.squeeze()`, uses: [v] };
        case 5: {
          if (t.ndim === 0) return undefined;
          const dim = d();
          const size = t.shape[dim]!;
          const start = p.rng.int(Math.max(size, 1)) - (p.rng.chance(0.3) ? size : 0);
          const cut = p.rng.int(2);
          const end = p.rng.chance(0.4) ? 'Infinity' : p.sizeOf(t, dim, cut);
          return { expr: `$0.slice(${dim}, ${start}, ${end}, ${1 + p.rng.int(2)})`, uses: [v] };
        }
        case 6: {
          const dim = p.rng.int(t.ndim + 1);
          const shape = t.shape.map((_, d) => p.sizeOf(t, d));
          shape.splice(dim, 0, '3');
          return { expr: `$0.unsqueeze(${dim}).expand([${shape.join(', ')}])`, uses: [v] };
        }
        default: {
          if (t.ndim < 2) return undefined;
          const rest = t.shape.slice(2).map((_, d) => p.sizeOf(t, d + 2));
          // Sizes read from `shape` and computed with (B * T): symbolic sizes when the dims are dynamic.
          return p.rng.chance(0.5)
            ? { expr: `$0.flatten(0, 1).reshape([${[p.sizeOf(t, 1), p.sizeOf(t, 0), ...rest].join(', ')}])`, uses: [v] }
            : { expr: `$0.reshape([${['$0.shape[0] * $0.shape[1]', ...rest].join(', ')}])`, uses: [v] };
        }
      }
    },
  },
  {
    weight: 1,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      return { expr: `$0.contiguous()`, uses: [v] };
    },
  },
  // matmuls: against a compatible value, or the value's own transpose (always compatible)
  {
    weight: 5,
    make: (p) => {
      const a = p.any((t) => t.ndim >= 1 && floats(t));
      if (a === undefined) return undefined;
      const x = p.values[a]!;
      const k = x.shape.at(-1)!;
      const b = p.any((t, i) => i !== a && floats(t) && t.ndim >= 1 && t.ndim <= 3 && (t.ndim === 1 ? t.shape[0] : t.shape.at(-2)) === k);
      if (b !== undefined && p.rng.chance(0.7))
        return { expr: `$0.matmul($1)`, uses: [a, b], rounds: true, accumulates: true, matmul: true };
      return x.ndim < 2 ? undefined : { expr: `$0.matmul($0.transpose(-1, -2))`, uses: [a], rounds: true, accumulates: true, matmul: true };
    },
  },
  {
    weight: 3,
    make: (p) => {
      const a = p.any((t) => t.ndim >= 1 && floats(t));
      if (a === undefined) return undefined;
      const k = p.values[a]!.shape.at(-1)!;
      const w = p.any((t) => t.ndim === 2 && floats(t) && t.shape[1] === k);
      if (w === undefined) return undefined;
      const bias = p.any((t) => t.ndim === 1 && floats(t) && t.shape[0] === p.values[w]!.shape[0]);
      return bias !== undefined && p.rng.chance(0.5)
        ? { expr: `F.linear($0, $1, $2)`, uses: [a, w, bias], rounds: true, accumulates: true, matmul: true }
        : { expr: `F.linear($0, $1)`, uses: [a, w], rounds: true, accumulates: true, matmul: true };
    },
  },
  // composites
  {
    weight: 3,
    make: (p) => {
      const v = p.any((t) => t.ndim >= 1);
      if (v === undefined) return undefined;
      const dim = p.rng.int(p.values[v]!.ndim) - p.values[v]!.ndim;
      return { expr: `F.${p.rng.pick(['softmax', 'logSoftmax'])}($0, ${dim})`, uses: [v], rounds: true };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const v = p.any((t) => t.ndim >= 1 && t.shape.at(-1)! >= 3 && floats(t));
      if (v === undefined) return undefined;
      const n = p.values[v]!.shape.at(-1)!;
      const size = p.sizeOf(p.values[v]!, -1);
      // Rows made distinct first: normalizing a constant row divides rounding noise by sqrt(eps), where any two summation orders differ.
      const x = `$0.add(arange(${size}, { device: $0.device }).cast('float32').mul(0.37).sin())`;
      if (p.rng.chance(0.5)) return { expr: `F.rmsNorm(${x}, [${size}])`, uses: [v], rounds: true, accumulates: true };
      const w = p.any((t) => t.ndim === 1 && t.shape[0] === n && floats(t));
      return w !== undefined && p.rng.chance(0.5)
        ? { expr: `F.layerNorm(${x}, [${size}], $1, $1)`, uses: [v, w], rounds: true, accumulates: true }
        : { expr: `F.layerNorm(${x}, [${size}])`, uses: [v], rounds: true, accumulates: true, centered: true };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const v = p.any((t) => t.ndim >= 2 && floats(t));
      if (v === undefined) return undefined;
      return {
        expr: `F.scaledDotProductAttention($0, $0, $0, { isCausal: ${p.rng.chance(0.5)} })`,
        uses: [v],
        rounds: true,
        accumulates: true,
      };
    },
  },
  {
    weight: 1,
    make: (p) => {
      const v = p.any(floats);
      if (v === undefined) return undefined;
      return { expr: `F.dropout($0, ${p.rng.pick([0.25, 0.5])}, ${p.rng.chance(0.6)})`, uses: [v], rounds: true };
    },
  },
  {
    weight: 2,
    make: (p) => {
      const [a, b] = [p.any((t) => t.ndim >= 1), p.any((t) => t.ndim >= 1)];
      if (a === undefined || b === undefined) return undefined;
      const dim = p.rng.int(p.values[a]!.ndim);
      return p.rng.chance(0.6) ? { expr: `cat([$0, $1.mul(2)], ${dim})`, uses: [a, b] } : { expr: `stack([$0, $1], ${dim})`, uses: [a, b] };
    },
  },
  {
    weight: 1,
    make: (p) => {
      const v = p.any((t) => t.ndim >= 1 && t.shape[0]! >= 2);
      if (v === undefined) return undefined;
      const size = p.rng.chance(0.5) ? String(1 + p.rng.int(p.values[v]!.shape[0]! - 1)) : 'Math.max(1, Math.floor($0.shape[0] / 2))';
      return { expr: `$0.split(${size}, 0)[${p.rng.int(2)}]`, uses: [v] };
    },
  },
  // index ops with in-range indices (index inputs hold values below their bound)
  {
    weight: 3,
    make: (p) => {
      const i = p.any((_t, n) => p.inputs[n]?.values === 'index');
      if (i === undefined) return undefined;
      const bound = p.inputs[i]!.bound!;
      const k = p.values[i]!.shape[0]!;
      const x = p.any((t) => t.ndim >= 1 && t.shape.some((s) => s >= bound));
      if (x === undefined) return undefined;
      const t = p.values[x]!;
      const dims = t.shape.map((s, d) => (s >= bound ? d : -1)).filter((d) => d >= 0);
      const d = p.rng.pick(dims);
      switch (p.rng.int(4)) {
        case 0:
          return { expr: `$0.indexSelect(${d}, $1)`, uses: [x, i] };
        case 1: {
          const ones = t.shape.map((_, e) => (e === d ? k : 1));
          const shape = t.shape.map((s, e) => (e === d ? k : s));
          return { expr: `$0.gather(${d}, $1.reshape(${list(ones)}).expand(${list(shape)}))`, uses: [x, i] };
        }
        case 2:
          return t.ndim === 2 && d === 0 && floats(t) ? { expr: `F.embedding($1, $0)`, uses: [x, i] } : undefined;
        default:
          return t.ndim === 2 && d === 1 && t.shape[0] === k && floats(t)
            ? {
                expr: `F.crossEntropy($0, $1, { reduction: '${p.rng.pick(['mean', 'sum', 'none'])}' })`,
                uses: [x, i],
                rounds: true,
                accumulates: true,
              }
            : undefined;
      }
    },
  },
  // PyTorch's spellings: clone, tril / triu, maskedFill, chunk, to(dtype)
  {
    weight: 2,
    make: (p) => {
      const v = p.any();
      if (v === undefined) return undefined;
      const t = p.values[v]!;
      switch (p.rng.int(5)) {
        case 0:
          return { expr: '$0.clone()', uses: [v] };
        case 1:
          return t.ndim < 2 ? undefined : { expr: `$0.${p.rng.pick(['tril', 'triu'])}(${p.rng.int(3) - 1})`, uses: [v] };
        case 2: {
          const m = p.any((u) => u.dtype === 'bool');
          if (m === undefined) return undefined;
          const k = p.rng.pick(SCALARS);
          return { expr: `$0.maskedFill($1, ${lit(k)})`, uses: [v, m], ...hugeIf(k) };
        }
        case 3:
          return t.ndim < 1 ? undefined : { expr: `$0.chunk(${1 + p.rng.int(3)}, -1).at(-1)`, uses: [v] };
        default:
          return { expr: `$0.to('${p.rng.pick(['float32', 'int32', 'bool'])}')`, uses: [v], fragile: t.dtype === 'float32' };
      }
    },
  },
  // creation inside the function
  {
    weight: 1,
    make: (p) => {
      const v = p.any((t) => t.ndim >= 1);
      if (v === undefined) return undefined;
      return p.rng.chance(0.5)
        ? { expr: `$0.add(arange(${p.sizeOf(p.values[v]!, -1)}, { device: $0.device }))`, uses: [v], rounds: true }
        : { expr: `$0.mul(randn($0.shape, { device: $0.device }))`, uses: [v], rounds: true };
    },
  },
  // in-place writes (into a fresh value, or into an input: callers see the write)
  {
    weight: 2,
    make: (p) => {
      const [a, b] = [p.any(), p.any()];
      if (a === undefined || b === undefined) return undefined;
      // Writing into an input directly (its caller sees the write), except a broadcast one (its elements share
      // memory) and an index input (index ops read it later, in range only as long as it holds what it was made with).
      const input = p.inputs[a];
      const inPlace =
        p.rng.chance(0.3) && input !== undefined && input.layout !== 'expand' && input.values !== 'index' ? 'operand' : 'copy';
      const dst = inPlace === 'operand' ? '$0' : '$0.mul(1)';
      const t = p.values[a]!;
      const d = p.rng.int(Math.max(t.ndim, 1));
      // A view of the destination: a write through it must reach the base (and the base's other views).
      const view = t.ndim === 0 ? 'w' : `w.slice(${d}, ${p.rng.int(Math.max(t.shape[d]!, 1))}, ${p.sizeOf(t, d)})`;
      switch (p.rng.int(8)) {
        case 0:
          return { expr: `${dst}.add_($1)`, uses: [a, b], rounds: true, inPlace };
        case 1: {
          const op = p.rng.pick(['mul_', 'sub_', 'div_']);
          const k = p.rng.pick(SCALARS);
          return { expr: `${dst}.${op}(${lit(k)})`, uses: [a], rounds: true, inPlace, ...hugeIf(k) };
        }
        case 2:
          return { expr: `${dst}.copy_($1)`, uses: [a, b], inPlace };
        case 3: {
          const k = p.rng.pick(SCALARS);
          return { expr: `${dst}.fill_(${lit(k)})`, uses: [a], inPlace, ...hugeIf(k) };
        }
        case 4: {
          const k = p.rng.pick(SCALARS);
          return { expr: `((w) => (${view}.fill_(${lit(k)}), w))(${dst})`, uses: [a], inPlace, ...hugeIf(k) };
        }
        case 5:
          return { expr: `((w) => (${view}.mul_(${lit(p.rng.pick(ORDINARY))}), w.add(0)))(${dst})`, uses: [a], rounds: true, inPlace };
        case 6:
          // What was read before the write keeps the old values; what is read after sees the new ones.
          return {
            expr: `((w) => { const s = w.sum(); ${view}.zero_(); return s.add(w); })(${dst})`,
            uses: [a],
            rounds: true,
            accumulates: true,
            inPlace,
          };
        default: {
          const v = p.rng.int(3);
          return { expr: `((w) => { const u = ${view}; w.add_(1); return u.mul(${v}); })(${dst})`, uses: [a], rounds: true, inPlace };
        }
      }
    },
  },
  // a graph break: a function marked with disable() runs eagerly in the middle
  {
    weight: 1,
    make: (p) => {
      const v = p.any(floats);
      if (v === undefined) return undefined;
      return { expr: `brk($0)`, uses: [v], rounds: true, breaks: true };
    },
  },
];

const TOTAL_WEIGHT = STEPS.reduce((n, s) => n + s.weight, 0);

function drawInput(rng: Rng, base: readonly number[]): ProgramInput {
  const rank = rng.int(4);
  const shape = base.slice(0, rank).map((s) => (rng.chance(0.2) ? 1 : s));
  const kind = rng.int(10);
  const layouts: Layout[] = ['contiguous', 'contiguous', 'offset', 'step', 'transpose', 'expand'];
  const layout = rank === 0 ? 'contiguous' : layouts[rng.int(layouts.length)]!;
  if (kind === 0) return { shape, dtype: 'int32', layout, values: 'int' };
  if (kind === 1) return { shape, dtype: 'bool', layout, values: 'bool' };
  if (kind === 2) {
    const k = base[rng.int(base.length)]!;
    return { shape: [k], dtype: 'int32', layout: 'contiguous', values: 'index', bound: base[rng.int(base.length)]! };
  }
  const values: Values = kind < 6 ? 'normal' : kind < 8 ? 'special' : rng.chance(0.5) ? 'extreme' : 'tiny';
  return { shape, dtype: 'float32', layout, values };
}

/** A meta tensor per input, and a mode that gives each op's result as one: generation checks steps on shapes and dtypes only. */
const metaMode: Mode = {
  call: (_op, _ins, _attrs, meta: TensorMeta) => symbolic(meta),
};

function symbolic(meta: TensorMeta): Tensor {
  return new Tensor(metaStorage(meta.device, meta.dtype, 0), views.contiguousView(meta.shape));
}

/** Program `seed`: 1-4 inputs of rank 0-3 sharing sizes (so they broadcast), 3-12 steps, 1-3 outputs. */
export function randomProgram(seed: number): Program {
  const rng = new Rng(mulberry32(seed));
  const base = Array.from({ length: 3 }, () => SIZES[rng.int(SIZES.length)]!);
  const inputs = Array.from({ length: 1 + rng.int(4) }, () => drawInput(rng, base));
  const values = inputs.map((x) => symbolic({ shape: x.shape, dtype: x.dtype, device: 'cpu' }));
  const steps: Step[] = [];
  const pool: Pool = {
    rng,
    values,
    inputs,
    any(filter) {
      const ok = values.map((_t, v) => v).filter((v) => !filter || filter(values[v]!, v));
      if (ok.length === 0) return undefined;
      // Half the time one of the last three values: chains, with some fan-in.
      return rng.chance(0.5) ? ok.slice(-3)[rng.int(Math.min(3, ok.length))]! : ok[rng.int(ok.length)]!;
    },
    sizeOf(t, dim, minus = 0) {
      const d = dim < 0 ? t.ndim + dim : dim;
      const read = `$0.shape[${d}]${minus === 0 ? '' : ` - ${minus}`}`;
      return rng.chance(0.5) ? read : String(t.shape[d]! - minus);
    },
  };
  const target = 3 + rng.int(10);
  for (let tries = 0; steps.length < target && tries < target * 8; tries++) {
    let r = rng.int(TOTAL_WEIGHT);
    const gen = STEPS.find((s) => (r -= s.weight) < 0)!;
    const step = gen.make(pool);
    if (!step) continue;
    const made = evaluate(step, values);
    if (!made || made.numel > 4096) continue;
    steps.push(step);
    values.push(made);
  }
  const computed = steps.map((_, i) => inputs.length + i);
  const outputs =
    computed.length === 0
      ? [0]
      : [...new Set(Array.from({ length: 1 + rng.int(3) }, (_, i) => (i === 0 ? computed.at(-1)! : rng.pick(computed))))];
  // Drawn last, so a seed's program is what it was before gradients were checked. An input written in place cannot require grad (eager refuses).
  if (!steps.some((s) => s.inPlace === 'operand')) {
    for (const x of inputs) if (x.dtype === 'float32' && x.values === 'normal' && rng.chance(0.5)) x.grad = true;
  }
  return { seed, inputs, steps, outputs };
}

/** The step's result on symbolic values, or undefined when the op rejects its operands. */
function evaluate(step: Step, values: readonly Tensor[]): Tensor | undefined {
  const args = step.uses.map((_, k) => `$${k}`);
  const f = new Function(
    ...Object.keys(LIBRARY),
    ...args.map((a) => a.replace('$', 'v')),
    `return ${step.expr.replace(/\$(\d+)/g, 'v$1')};`,
  );
  try {
    const out: unknown = withMode(metaMode, () => f(...Object.values(LIBRARY), ...step.uses.map((v) => values[v])));
    return out instanceof Tensor ? out : undefined;
  } catch {
    return undefined;
  }
}

// ---- inputs ------------------------------------------------------------------

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0];
const HUGE = [F32_MAX, -F32_MAX, 3e38, -1e38];
const TINY = [1.1754943508222875e-38, -2e-38, 3e-38];

/** The values of input `i` of `p`, row-major (the same numbers for every device and run). */
export function inputValues(p: Program, i: number): number[] {
  const x = p.inputs[i]!;
  const rng = new Rng(mulberry32(p.seed * 31 + i + 1));
  const n = x.shape.reduce((a, b) => a * b, 1);
  const normal = () => {
    // Box-Muller over the PRNG: standard normal values.
    const u = (rng.next() + 1) / (2 ** 30 + 1);
    const v = rng.next() / 2 ** 30;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return Array.from({ length: n }, () => {
    switch (x.values) {
      case 'int':
        return rng.int(11) - 5;
      case 'bool':
        return rng.int(2);
      case 'index':
        return rng.int(x.bound!);
      case 'special':
        return rng.chance(0.25) ? rng.pick(SPECIALS) : normal();
      case 'extreme':
        return rng.chance(0.25) ? rng.pick(HUGE) : normal();
      case 'tiny':
        return rng.chance(0.25) ? rng.pick(TINY) : normal();
      default:
        return normal();
    }
  });
}

/** Input `i` of `p` on `device`, built in its layout (a view of a larger or permuted base tensor). */
export function makeInput(p: Program, i: number, make: (data: number[], shape: number[], dtype: DType) => Tensor): Tensor {
  const x = p.inputs[i]!;
  const data = inputValues(p, i);
  const { shape, dtype } = x;
  switch (x.layout) {
    case 'contiguous':
      return make(data, shape, dtype);
    case 'offset': {
      // The data after a block of other values in one storage: a dense view at a non-zero offset.
      const pad = 5;
      return make([...Array(pad).fill(0), ...data], [pad + data.length], dtype)
        .slice(0, pad, pad + data.length)
        .reshape(shape);
    }
    case 'step': {
      // Every other element of a base twice as long along dim 0.
      const rows = shape[0]!;
      const inner = data.length / Math.max(rows, 1);
      const base: number[] = [];
      for (let r = 0; r < rows; r++) base.push(...data.slice(r * inner, (r + 1) * inner), ...Array(inner).fill(7));
      return make(base, [rows * 2, ...shape.slice(1)], dtype).slice(0, 0, rows * 2, 2);
    }
    case 'transpose': {
      if (shape.length < 2) return make(data, shape, dtype);
      // The base holds the transpose; transposing it back gives `shape` with swapped strides.
      const [a, b] = [shape.length - 2, shape.length - 1];
      const tShape = [...shape];
      [tShape[a], tShape[b]] = [shape[b]!, shape[a]!];
      const perm = views.contiguousStrides(shape);
      const tData = new Array<number>(data.length);
      const tStrides = views.contiguousStrides(tShape);
      for (let flat = 0; flat < data.length; flat++) {
        let rest = flat;
        let to = 0;
        for (let d = 0; d < shape.length; d++) {
          const idx = Math.floor(rest / perm[d]!);
          rest -= idx * perm[d]!;
          const td = d === a ? b : d === b ? a : d;
          to += idx * tStrides[td]!;
        }
        tData[to] = data[flat]!;
      }
      return make(tData, tShape, dtype).transpose(a, b);
    }
    case 'expand': {
      // Dim 0 broadcast from one row: every row holds the first row's values.
      const inner = data.length / Math.max(shape[0]!, 1);
      return make(data.slice(0, inner), [1, ...shape.slice(1)], dtype).expand(shape);
    }
  }
}
