/**
 * Building one kernel's body for the scheduler (./schedule): the
 * KernelBuilder numbers the buffers a kernel reads and resolves each read
 * to a load, an accumulator, the matmul's product or an inlined body; and
 * the view analysis that reads a matmul operand as a strided buffer.
 * A read that a kernel cannot make throws FusionMismatch, which gives that
 * fusion up (and the scheduler says why).
 */
import { KilnError } from '@kiln/eager';
import type { MatmulOperand } from './codegen/kernel';
import { add, type Expr, type Index, int, ivar, linearize, mul, randomSourcesOf, sameIndices } from './ir/expr';
import type { IRNode, MatmulNode, ReductionNode } from './ir/nodes';

/** Thrown while building a kernel body when a fusion assumption does not hold; the scheduler then gives up that fusion. */
export class FusionMismatch extends Error {}

/**
 * Runs a fusion attempt: its result, or undefined when a fusion assumption
 * did not hold (`why` hears the reason, for the decisions log).
 */
export function attempt<T>(f: () => T, why?: (reason: string) => void): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof FusionMismatch)) throw e;
    why?.(e.message);
    return undefined;
  }
}

/** A node as decisions and errors name it: its ops and id (`softmax#12`). */
export function label(n: IRNode): string {
  return `${n.ops.join('+')}#${n.id}`;
}

/** Builds one kernel body: numbers the buffers it reads, resolves reads to loads, accumulators or inlined bodies. */
export class KernelBuilder {
  readonly inputs: IRNode[] = [];
  readonly ops: string[] = [];
  private readonly noted = new Set<IRNode>();
  private readonly random = new Set<number>();
  rowContext: { reductions: readonly ReductionNode[]; outerIdx: readonly Index[] } | undefined;
  fusedMatmul: { node: MatmulNode; idx: readonly Index[] } | undefined;

  constructor(private readonly realized: { has(n: IRNode): boolean }) {}

  /** Evaluates a body, noting the ops of `n` (the value computed). */
  track(n: IRNode, body: () => Expr): Expr {
    const e = body();
    this.note(n); // after its producers: names list ops in the order they compute
    for (const s of randomSourcesOf(e)) this.random.add(s);
    return e;
  }

  /** The accumulator of reduction `r` of the row kernel: numbered in the kernel, so that the kernels of identical layers are identical. */
  acc(r: ReductionNode): Expr {
    const id = this.rowContext?.reductions.indexOf(r) ?? -1;
    if (id < 0) throw new KilnError(`${label(r)} is not a reduction of this row kernel (scheduler bug)`, { op: 'inductor' });
    return { kind: 'acc', id, dtype: r.dtype };
  }

  read = (n: IRNode, idx: readonly Index[]): Expr => {
    const row = this.rowContext;
    if (row && n.kind === 'reduction' && row.reductions.includes(n)) {
      if (!sameIndices(idx, row.outerIdx)) throw new FusionMismatch(`${label(n)} read off its row`);
      return this.acc(n);
    }
    const mm = this.fusedMatmul;
    if (mm && n === mm.node) {
      if (!sameIndices(idx, mm.idx)) throw new FusionMismatch(`${label(n)} read at another element than the one being stored`);
      return { kind: 'acc', id: 0, dtype: n.dtype };
    }
    if (this.realized.has(n)) return { kind: 'load', input: this.slot(n), index: bufferIndex(n, idx), dtype: n.dtype };
    if (n.kind !== 'pointwise') throw new FusionMismatch(`${label(n)} is not available in this kernel`);
    const e = n.body(idx, this.read);
    this.note(n);
    return e;
  };

  /** A matmul operand as a strided read of a buffer. */
  operand(x: IRNode): MatmulOperand {
    const view = operandView(x, (n) => this.realized.has(n));
    if (!view) throw new KilnError(`matmul operand ${label(x)} is not a strided buffer (scheduler bug)`, { op: 'inductor' });
    return { input: this.slot(view.buffer), offset: view.offset, strides: view.strides };
  }

  inputBuffers(): { dtype: IRNode['dtype'] }[] {
    return this.inputs.map((n) => ({ dtype: n.dtype }));
  }

  randomSources(): number[] {
    return [...this.random];
  }

  private slot(n: IRNode): number {
    let s = this.inputs.indexOf(n);
    if (s < 0) s = this.inputs.push(n) - 1;
    return s;
  }

  private note(n: IRNode): void {
    if (this.noted.has(n)) return;
    this.noted.add(n);
    // A composite's pieces all carry its name: list it once per run of them.
    for (const op of n.ops) if (this.ops.at(-1) !== op) this.ops.push(op);
  }
}

/** Element index of a realized node's buffer (every buffer, inputs included, is contiguous). */
export function bufferIndex(n: IRNode, idx: readonly Index[]): Index {
  return linearize(idx, n.shape);
}

/**
 * If reading `x` is a load of one realized buffer at an index affine in x's
 * own index (views only), the buffer, offset and strides of that view.
 */
export function operandView(
  x: IRNode,
  isRealized: (n: IRNode) => boolean,
): { buffer: IRNode; offset: Index; strides: Index[] } | undefined {
  const vars = x.shape.map((s, d) => ivar(`v${d}`, s));
  let buffer: IRNode | undefined;
  const read = (n: IRNode, idx: readonly Index[]): Expr => {
    if (isRealized(n)) {
      if (buffer && buffer !== n) throw new FusionMismatch('two buffers');
      buffer = n;
      return { kind: 'load', input: 0, index: bufferIndex(n, idx), dtype: n.dtype };
    }
    if (n.kind === 'pointwise' && n.isView) return n.body(idx, read);
    throw new FusionMismatch('computed');
  };
  const e = attempt(() => read(x, vars));
  if (e?.kind !== 'load' || !buffer) return undefined;
  const affine = affineOf(
    e.index,
    vars.map((v) => (v as { name: string }).name),
  );
  return affine ? { buffer, ...affine } : undefined;
}

/**
 * offset + sum(strides[d] * v_d) if `ix` has that form, with offset and
 * strides free of the variables (numbers, or dynamic sizes), else undefined.
 */
function affineOf(ix: Index, names: readonly string[]): { offset: Index; strides: Index[] } | undefined {
  const strides: Index[] = names.map(() => int(0));
  let offset: Index = int(0);
  const mentions = (e: Index): boolean =>
    e.kind === 'var'
      ? names.includes(e.name)
      : 'a' in e && typeof e.a === 'object' && 'kind' in e.a
        ? mentions(e.a) || mentions(e.b as Index)
        : e.kind === 'value';
  const walk = (e: Index, scale: Index): boolean => {
    if (!mentions(e)) {
      offset = add(offset, mul(e, scale));
      return true;
    }
    switch (e.kind) {
      case 'var': {
        const d = names.indexOf(e.name);
        strides[d] = add(strides[d]!, scale);
        return true;
      }
      case 'add':
        return walk(e.a, scale) && walk(e.b, scale);
      case 'mul':
        if (!mentions(e.b)) return walk(e.a, mul(scale, e.b));
        if (!mentions(e.a)) return walk(e.b, mul(scale, e.a));
        return false;
      default:
        return false;
    }
  };
  return walk(ix, int(1)) ? { offset, strides } : undefined;
}
