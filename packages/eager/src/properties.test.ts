import { KilnError } from '@kiln/gpu-runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from './creation';
import type { Tensor } from './tensor';
import type { Layout, Ref } from './testing/reference';
import * as R from './testing/reference';

const dimSize = fc.integer({ min: 1, max: 4 });
const shapeArb = (maxRank = 4) => fc.array(dimSize, { minLength: 0, maxLength: maxRank });
const layoutArb = fc.constantFrom<Layout>('contiguous', 'strided');

/** A shape that broadcasts to `out`: some leading dims dropped, some dims set to 1. */
const broadcastsTo = (out: number[]) =>
  fc
    .tuple(fc.nat(out.length), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
    .map(([drop, ones]) => out.slice(drop).map((s, i) => (ones[i + drop] ? 1 : s)));

describe('broadcasting (property)', () => {
  it('a op b equals the reference on the broadcast shape, in any layout', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb().chain((out) => fc.tuple(broadcastsTo(out), broadcastsTo(out))),
        layoutArb,
        layoutArb,
        fc.nat(),
        async ([sa, sb], la, lb, seed) => {
          const [a, b] = [R.random(sa, 'float32', 'any', seed), R.random(sb, 'float32', 'any', seed + 1)];
          const got = R.toTensor(a, 'cpu', la)
            .mul(R.toTensor(b, 'cpu', lb))
            .sub(R.toTensor(b, 'cpu', lb));
          await R.expectClose(
            got,
            R.map('float32', (x, y) => Math.fround(x * y) - y, a, b),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('incompatible shapes throw a KilnError naming both', () => {
    fc.assert(
      fc.property(shapeArb(3), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 }), (lead, m, n) => {
        fc.pre(m !== n);
        const [sa, sb] = [[...lead, m], [n]];
        try {
          tensor(new Float32Array(R.size(sa)))
            .reshape(sa)
            .add(tensor(new Float32Array(n)));
          return false;
        } catch (e) {
          return e instanceof KilnError && e.message === `add: cannot broadcast shapes [${sa.join(',')}] and [${sb.join(',')}]`;
        }
      }),
    );
  });
});

// A model of view ops on plain nested arrays, written with index functions only. The shape is kept
// beside the arrays because nesting cannot show dims after an empty one ([0, 3] prints as []).
type Nested = number | Nested[];
interface Model {
  shape: number[];
  n: Nested;
}
const at = (n: Nested, idx: readonly number[]): number => idx.reduce<Nested>((m, i) => (m as Nested[])[i]!, n) as number;
function make(shape: readonly number[], f: (idx: number[]) => number): Model {
  const build = (prefix: number[]): Nested =>
    prefix.length === shape.length ? f(prefix) : Array.from({ length: shape[prefix.length]! }, (_, i) => build([...prefix, i]));
  return { shape: [...shape], n: build([]) };
}
const flat = (m: Model): number[] => R.build(m.shape, 'float32', (idx) => at(m.n, idx)).data;
const fromFlat = (shape: readonly number[], values: readonly number[]) => make(shape, (idx) => values[R.ravel(shape, idx)]!);

/** One random view op, its arguments drawn from `r` and fitted to the current shape. */
interface Step {
  kind: number;
  r: number[];
}
const stepArb = fc.record({ kind: fc.nat(8), r: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 4, maxLength: 4 }) });

function apply(step: Step, t: Tensor, m: Model): [Tensor, Model, string] {
  const shape = m.shape;
  const rank = shape.length;
  const [a, b, c, d] = step.r.map(Math.abs) as [number, number, number, number];
  switch (rank === 0 ? step.kind % 3 : step.kind) {
    case 0: {
      // unsqueeze
      const dim = (a % (rank + 1)) - (b % 2) * (rank + 1);
      const s = [...shape];
      s.splice(dim < 0 ? dim + rank + 1 : dim, 0, 1);
      return [t.unsqueeze(dim), fromFlat(s, flat(m)), `unsqueeze(${dim})`];
    }
    case 1: {
      // reshape to a random factorization of the size
      const n = R.size(shape);
      const f = [1, 2, 3, 4].filter((k) => n % k === 0)[a % 4] ?? 1;
      const s = b % 2 ? [n / f, f] : [f, -1];
      return [t.reshape(s), fromFlat(s[1] === -1 ? [f, n / f] : s, flat(m)), `reshape(${s})`];
    }
    case 2: {
      // contiguous, or flatten
      if (a % 2) return [t.contiguous(), m, 'contiguous()'];
      return [t.flatten(), fromFlat([R.size(shape)], flat(m)), 'flatten()'];
    }
    case 3: {
      // permute
      const order = shape.map((_, i) => i).sort((x, y) => ((x * 7 + a) % 5) - ((y * 7 + a) % 5) || x - y);
      return [
        t.permute(order),
        make(
          order.map((o) => shape[o]!),
          (idx) =>
            at(
              m.n,
              order.map((_, k) => idx[order.indexOf(k)]!),
            ),
        ),
        `permute(${order})`,
      ];
    }
    case 4: {
      // transpose
      const [i, j] = [a % rank, b % rank];
      const swap = (idx: number[]) => idx.map((v, k) => (k === i ? idx[j]! : k === j ? idx[i]! : v));
      return [t.transpose(i, j - (c % 2) * rank), make(swap(shape), (idx) => at(m.n, swap(idx))), `transpose(${i},${j})`];
    }
    case 5: {
      // slice with Python bounds and a step
      const dim = a % rank;
      const size = shape[dim]!;
      const [start, end, stepSize] = [step.r[1]!, step.r[2]! + (d % 2) * size, 1 + (d % 3)];
      const norm = (x: number) => Math.min(Math.max(x < 0 ? x + size : x, 0), size);
      const [s0, e0] = [norm(start), Math.max(norm(end), norm(start))];
      const len = Math.ceil((e0 - s0) / stepSize);
      const s = shape.map((v, k) => (k === dim ? len : v));
      return [
        t.slice(dim, start, end, stepSize),
        make(s, (idx) =>
          at(
            m.n,
            idx.map((v, k) => (k === dim ? s0 + v * stepSize : v)),
          ),
        ),
        `slice(${dim},${start},${end},${stepSize})`,
      ];
    }
    case 6: {
      // squeeze one dim or all
      const s = b % 2 ? shape.filter((v) => v !== 1) : shape.filter((v, k) => !(k === a % rank && v === 1));
      return [b % 2 ? t.squeeze() : t.squeeze(a % rank), fromFlat(s, flat(m)), `squeeze(${b % 2 ? '' : a % rank})`];
    }
    case 7: {
      // expand size-1 dims and maybe add a leading dim
      const s = shape.map((v) => (v === 1 ? 1 + (a % 3) : v));
      const lead = b % 2 ? [2] : [];
      const target = [...lead, ...s];
      return [
        t.expand(target),
        make(target, (idx) =>
          at(
            m.n,
            idx.slice(lead.length).map((v, k) => (shape[k] === 1 ? 0 : v)),
          ),
        ),
        `expand(${target})`,
      ];
    }
    default: // a contiguous copy through an elementwise op keeps values
      return [t.add(0), m, 'add(0)'];
  }
}

describe('views (property)', () => {
  it('a random chain of view ops equals the same indexing on nested arrays', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3), layoutArb, fc.array(stepArb, { minLength: 1, maxLength: 6 }), async (shape, layout, steps) => {
        const base: Ref = { shape, dtype: 'float32', data: Array.from({ length: R.size(shape) }, (_, i) => i) };
        let t = R.toTensor(base, 'cpu', layout);
        let m = fromFlat(shape, base.data);
        const trail: string[] = [];
        for (const step of steps) {
          const [nt, nm, label] = apply(step, t, m);
          [t, m] = [nt, nm];
          trail.push(label);
          expect(t.shape, trail.join(' > ')).toEqual(m.shape);
        }
        expect(await t.toArray(), trail.join(' > ')).toEqual(m.n);
      }),
      { numRuns: 300 },
    );
  });
});

describe('reductions (property)', () => {
  const ops = {
    sum: (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    max: (xs: number[]) => Math.max(...xs),
    argmin: (xs: number[]) => xs.indexOf(Math.min(...xs)),
    mean: (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length,
  };
  it('sum / max / argmin / mean over any set of dims, keepdim or not, equal the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(4),
        fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 4 }),
        fc.boolean(),
        layoutArb,
        fc.constantFrom<keyof typeof ops>('sum', 'max', 'argmin', 'mean'),
        fc.nat(),
        async (shape, rawDims, keepdim, layout, op, seed) => {
          const rank = shape.length;
          const dims = [...new Set(rawDims.filter((d) => d >= -rank && d < rank).map((d) => (d < 0 ? d + rank : d)))];
          const x = R.random(shape, 'float32', 'any', seed);
          const out = R.toTensor(x, 'cpu', layout)[op](dims.length ? dims : undefined, keepdim);
          const dtype = op === 'argmin' ? 'int32' : 'float32';
          await R.expectClose(out, R.reduce(x, dims.length ? dims : null, keepdim, dtype, ops[op]));
        },
      ),
      { numRuns: 200 },
    );
  });
});
