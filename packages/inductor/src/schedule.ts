/**
 * The scheduler: the one place where fusion is decided. It chooses which IR
 * values get a buffer ("realized") and which kernel computes each, and
 * records every decision, made or given up, with why: the fusion log
 * (KILN_LOGS=fusion) and the explain report answer "why is this a separate
 * kernel". Each rule is a method of the same name, saying what it saves:
 *
 * Which values get a buffer:
 * - realizeHeavyValues: inputs, outputs, matmuls and reductions. Heavy work
 *   is never recomputed to fuse.
 * - inlineSharedCheapValues: an elementwise value read by several consumers
 *   is recomputed in each unless its expression is large.
 * - matmulOperandsAreStridedBuffers: the matmul template reads A and B
 *   through strides, so an operand computed elementwise gets a buffer.
 * - externInputsAreBuffers: an op without a lowering runs as its eager
 *   kernel, on buffers.
 * - splitAtTheBindingLimit: a kernel binds at most so many buffers.
 * Which kernel computes each:
 * - rowKernels: reductions over the same rows, one after another in one
 *   kernel (softmax's max and sum, layerNorm's mean and variance), with the
 *   elementwise values computed from them over those rows (the epilogue);
 *   onlineSoftmax folds a sum of exp(x - max) into the max's pass;
 *   reuseRowValues keeps a value the last pass computed instead of
 *   computing it twice.
 * - matmulEpilogue: the elementwise consumer of a matmul (bias, activation,
 *   residual) is applied before the store.
 * - pointwiseKernels: a realized elementwise value with every unrealized
 *   producer inlined (a chain of any length is one kernel; views are index
 *   math; cat is a select over its inlined producers); siblingOutputs:
 *   realized values of the same shape that read one another are stored by
 *   the same kernel.
 * - externOps: the rest run as their eager kernels.
 */

import { KilnError, MOVEMENT } from '@kiln/eager';
import type { Kernel, RowReduction } from './codegen/kernel';
import { NotCompiled } from './errors';
import {
  checksIndices,
  children,
  type Expr,
  exprSize,
  type Index,
  ivar,
  keyOf,
  linearize,
  loadedInputs,
  type Size,
  substitute,
  unravel,
} from './ir/expr';
import type { ExternNode, IRNode, MatmulNode, PointwiseNode, ReductionNode } from './ir/nodes';
import { numelOf, sameNumel, sameShape, sizeKey } from './ir/size';
import { attempt, FusionMismatch, KernelBuilder, label, operandView } from './kernel-builder';

export interface ScheduledKernel {
  kernel: Kernel;
  /** IR node read through each input slot. */
  reads: IRNode[];
  /** IR node written through each output slot. */
  writes: IRNode[];
}

export interface Schedule {
  kernels: ScheduledKernel[];
  /** Every realized node that is not a graph input, in kernel order. */
  buffers: IRNode[];
  /** One line per decision, for KILN_LOGS=fusion and explain. */
  decisions: string[];
}

export interface ScheduleOptions {
  /** Expression nodes above which an elementwise value read by several consumers gets its own buffer. */
  inlineBudget: number;
  /** The device's storage-buffer binding limit per kernel (inputs + outputs). */
  maxBuffers: number;
  /** The target sums softmax's exp(x - max) in the max's pass (see onlineSoftmax); else the exp is kept for the write (reuseRowValues). */
  onlineSoftmax: boolean;
}

export function schedule(nodes: readonly IRNode[], outputs: readonly IRNode[], options: ScheduleOptions): Schedule {
  return new Scheduler(nodes, outputs, options).run();
}

class Scheduler {
  private readonly users = new Map<IRNode, IRNode[]>();
  private readonly realized = new Set<IRNode>();
  private readonly decisions: string[] = [];
  /** The kernel formed for each node it computes (see dependsOnAny). */
  private readonly kernelOf = new Map<IRNode, ScheduledKernel>();
  /** Per node, the highest id reachable from it (see dependsOnAny and forgetReachBelow). */
  private readonly reach = new Map<IRNode, number>();
  private kernelCount = 0;

  constructor(
    private readonly nodes: readonly IRNode[],
    private readonly outputs: readonly IRNode[],
    private readonly options: ScheduleOptions,
  ) {
    for (const n of nodes) for (const d of n.deps) (this.users.get(d) ?? this.users.set(d, []).get(d)!).push(n);
  }

  run(): Schedule {
    this.chooseRealized();
    const kernels = this.formKernels();
    const buffers = kernels.flatMap((k) => k.writes).filter((n) => n.kind !== 'input');
    return { kernels, buffers, decisions: this.decisions };
  }

  private usersOf(n: IRNode): IRNode[] {
    return this.users.get(n) ?? [];
  }

  // ---- which values get buffers ------------------------------------------

  private chooseRealized(): void {
    this.realizeHeavyValues();
    for (const n of this.nodes) if (n.kind === 'pointwise' && !n.isView && !this.inlineSharedCheapValues(n)) this.realized.add(n);
    for (const n of this.nodes) if (n.kind === 'matmul') for (const operand of [n.a, n.b]) this.matmulOperandsAreStridedBuffers(n, operand);
    this.externInputsAreBuffers();
    for (const n of this.nodes)
      if (this.realized.has(n) && (n.kind === 'pointwise' || n.kind === 'reduction')) this.splitAtTheBindingLimit(n);
  }

  /** realizeHeavyValues: inputs, outputs, matmuls and reductions get buffers; heavy work is never recomputed to fuse. */
  private realizeHeavyValues(): void {
    for (const n of this.nodes) {
      if (n.kind === 'input' || n.kind === 'matmul' || n.kind === 'reduction') this.realized.add(n);
    }
    for (const n of this.outputs) if (n.kind !== 'input') this.realized.add(n);
  }

  /** externInputsAreBuffers: an op without a lowering runs as its eager kernel, which reads and writes whole buffers. */
  private externInputsAreBuffers(): void {
    for (const n of this.nodes) {
      if (n.kind !== 'extern') continue;
      this.realized.add(n);
      for (const d of n.deps) {
        if (!this.realized.has(d))
          this.decisions.push(`realize ${label(d)}: input of ${label(n)}, which runs as its eager kernel (${n.reason})`);
        this.realized.add(d);
      }
    }
  }

  /** Buffers a kernel computing `n` would read: the realized values reached through inlined ones. */
  private leaves(n: IRNode, out = new Set<IRNode>(), seen = new Set<IRNode>()): Set<IRNode> {
    for (const d of n.deps) {
      if (seen.has(d)) continue;
      seen.add(d);
      if (this.realized.has(d) || d.kind !== 'pointwise') out.add(d);
      else this.leaves(d, out, seen);
    }
    return out;
  }

  /**
   * splitAtTheBindingLimit: a kernel may bind only so many storage buffers
   * (8 on many devices). When inlining would read more, the inlined value
   * reading the most buffers that still fit is given its own kernel.
   */
  private splitAtTheBindingLimit(root: PointwiseNode | ReductionNode): void {
    const limit = this.options.maxBuffers - 1; // one binding is the output
    while (this.leaves(root).size > limit) {
      let best: IRNode | undefined;
      let bestCount = 1;
      const visit = (n: IRNode) => {
        for (const d of n.deps) {
          if (this.realized.has(d) || d.kind !== 'pointwise') continue;
          const count = this.leaves(d).size;
          if (count > bestCount && count <= limit) [best, bestCount] = [d, count];
          visit(d);
        }
      };
      visit(root);
      if (!best) {
        throw new NotCompiled(
          `${label(root)} reads ${this.leaves(root).size} buffers directly, over the device's limit of ${limit}; split the op (e.g. cat in two)`,
        );
      }
      this.realized.add(best);
      this.decisions.push(`realize ${label(best)}: ${label(root)} would read more than ${limit} buffers in one kernel`);
    }
  }

  /**
   * inlineSharedCheapValues: an elementwise value read by several consumers
   * is recomputed in each (saves its buffer's write and reads) unless its
   * expression is large. True: it is inlined.
   */
  private inlineSharedCheapValues(n: PointwiseNode): boolean {
    if (this.usersOf(n).length < 2) return true;
    const cost = exprSize(
      n.body(
        n.shape.map((_, d) => ivar(`x${d}`)),
        (m, idx) => this.probeRead(m, idx),
      ),
    );
    if (cost <= this.options.inlineBudget) return true;
    this.decisions.push(
      `realize ${label(n)}: read by ${this.usersOf(n).length} consumers and ${cost} operations long (budget ${this.options.inlineBudget})`,
    );
    return false;
  }

  /** A read that inlines unrealized elementwise values and stops at buffers (for sizing and probing). */
  private probeRead = (m: IRNode, idx: readonly Index[]): Expr => {
    if (this.realized.has(m) || m.kind !== 'pointwise')
      return { kind: 'load', input: m.id, index: linearize(idx, m.shape), dtype: m.dtype };
    return m.body(idx, this.probeRead);
  };

  /** matmulOperandsAreStridedBuffers: the template reads A and B through strides, so an operand computed elementwise gets a buffer. */
  private matmulOperandsAreStridedBuffers(mm: MatmulNode, operand: IRNode): void {
    if (operandView(operand, (n) => this.realized.has(n))) return;
    let target = operand;
    while (target.kind === 'pointwise' && target.isView && target.deps.length === 1 && !this.realized.has(target.deps[0]!)) {
      target = target.deps[0]!;
    }
    if (target.kind === 'pointwise' && target.isView) target = operand; // a view of a computed value: copy the view itself
    // A chain of views over that buffer whose index math is not affine (a reshape of a flattened transpose): copy the operand itself.
    if (target !== operand && !operandView(operand, (n) => n === target || this.realized.has(n))) target = operand;
    this.realized.add(target);
    this.decisions.push(`realize ${label(target)}: operand of ${label(mm)} (the matmul template reads strided buffers)`);
  }

  // ---- kernels -----------------------------------------------------------

  private formKernels(): ScheduledKernel[] {
    const claimed = new Set<IRNode>();
    const kernels: ScheduledKernel[] = [];
    const add = (k: ScheduledKernel, members: readonly IRNode[]) => {
      for (const m of members) {
        claimed.add(m);
        this.kernelOf.set(m, k);
      }
      this.forgetReachBelow(k, members);
      kernels.push(k);
    };
    // Row groups first: reductions and the elementwise outputs computed over their rows.
    for (const r of this.nodes) {
      if (r.kind !== 'reduction' || claimed.has(r)) continue;
      const group = this.rowKernels(r, claimed);
      add(group.kernel, group.members);
    }
    for (const n of this.nodes) {
      if (claimed.has(n) || !this.realized.has(n) || n.kind !== 'matmul') continue;
      const fused = this.matmulEpilogue(n, claimed);
      add(fused, [n, ...fused.writes]);
    }
    for (const n of this.nodes) {
      if (claimed.has(n) || !this.realized.has(n)) continue;
      if (n.kind === 'pointwise') {
        const k = this.pointwiseKernels(n, claimed);
        add(k, k.writes);
      } else if (n.kind === 'extern') add(this.externOps(n), [n]);
    }
    return orderKernels(kernels);
  }

  private name(ops: readonly string[]): string {
    const distinct = ops.filter((o, i) => !VIEW_OPS.has(o) && ops.indexOf(o) === i);
    const shown = distinct.length > 4 ? [...distinct.slice(0, 4), 'etc'] : distinct;
    return `fused_${(shown.length ? shown : ['copy']).join('_')}_${this.kernelCount++}`;
  }

  /**
   * pointwiseKernels: a realized elementwise value, every unrealized
   * producer inlined into its one kernel. siblingOutputs: realized
   * elementwise values of the same shape that read one another are stored
   * by the same kernel, each computed once per element (an optimizer's
   * moment and parameter updates: one pass that reads the gradient once,
   * and the new moments are not read back from memory).
   */
  private pointwiseKernels(n: PointwiseNode, claimed: ReadonlySet<IRNode>): ScheduledKernel {
    const members: PointwiseNode[] = [n];
    const i = ivar('i', numelOf(n.shape));
    const build = () => {
      // Members are inlined where another member reads them: the kernel does not read what it writes.
      const inKernel = new Set<IRNode>(members);
      const b = new KernelBuilder({ has: (r) => this.realized.has(r) && !inKernel.has(r) });
      const stores = members.map((m, output) => ({ output, expr: b.track(m, () => m.body(unravel(i, m.shape), b.read)) }));
      if (members.length > 1) {
        if (b.inputs.some((input) => this.dependsOnAny(input, inKernel))) throw new FusionMismatch('the kernel would read its own results');
        if (b.randomSources().length > 0) throw new FusionMismatch('random numbers in a kernel of several outputs');
        if (b.inputs.length + members.length > this.options.maxBuffers) throw new FusionMismatch('over the binding limit');
      }
      return { b, stores };
    };
    const refused = new Set<IRNode>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of this.siblingCandidates(members, claimed)) {
        if (refused.has(p)) continue;
        members.push(p);
        if (attempt(build, this.notFused(p, n))) {
          grew = true;
          this.decisions.push(`fuse ${label(p)} into the kernel of ${label(n)}: the same elements, stored by one pass (several outputs)`);
        } else {
          members.pop();
          refused.add(p);
        }
      }
    }
    const { b, stores } = build();
    const ops = b.ops;
    const kernel: Kernel = {
      kind: 'pointwise',
      name: this.name(ops),
      fusedOps: ops,
      shape: [...n.shape],
      inputs: b.inputBuffers(),
      outputs: members.map((m) => ({ dtype: m.dtype })),
      randomSources: b.randomSources(),
      stores,
    };
    this.checkBindings(kernel);
    return { kernel, reads: b.inputs, writes: members };
  }

  /** Realized elementwise values of the members' shape, not yet in a kernel, that read a member or that a member reads (through inlined values). */
  private siblingCandidates(members: readonly PointwiseNode[], claimed: ReadonlySet<IRNode>): PointwiseNode[] {
    const shape = members[0]!.shape;
    const found = new Set<PointwiseNode>();
    const consider = (p: IRNode) => {
      if (p.kind === 'pointwise' && this.realized.has(p) && !claimed.has(p) && !members.includes(p) && sameShape(p.shape, shape))
        found.add(p);
    };
    for (const m of members) {
      this.leaves(m).forEach(consider);
      this.computedReaders(m).forEach(consider);
    }
    return [...found];
  }

  /** The realized values that read `n` directly or through inlined elementwise values. */
  private computedReaders(n: IRNode, out = new Set<IRNode>()): Set<IRNode> {
    for (const u of this.usersOf(n)) {
      if (out.has(u)) continue;
      if (this.realized.has(u) || u.kind !== 'pointwise') out.add(u);
      else this.computedReaders(u, out);
    }
    return out;
  }

  /** externOps: an op without a lowering runs as its eager kernel on the buffers of its inputs. */
  private externOps(n: ExternNode): ScheduledKernel {
    const reads = n.deps.filter((d, i) => n.deps.indexOf(d) === i);
    const kernel: Kernel = {
      kind: 'extern',
      name: `extern_${n.op}_${this.kernelCount++}`,
      fusedOps: [n.op],
      inputs: reads.map((r) => ({ dtype: r.dtype })),
      outputs: [{ dtype: n.dtype }],
      randomSources: [],
      op: n.op,
      attrs: n.attrs,
      reason: n.reason,
      args: n.args.map((a) => (typeof a === 'object' ? reads.indexOf(a) : { scalar: a })),
    };
    this.decisions.push(`extern ${label(n)}: ${n.reason}`);
    return { kernel, reads, writes: [n] };
  }

  /**
   * rowKernels: reductions over the same rows share one pass structure, and
   * values computed from them over those rows are written in the same kernel:
   * softmax and layerNorm read their input from memory once per reduction
   * and write once, instead of a kernel (and a round trip) per step.
   */
  private rowKernels(first: ReductionNode, claimed: ReadonlySet<IRNode>): { kernel: ScheduledKernel; members: IRNode[] } {
    const key = rowKey(first);
    const outer = first.shape;
    const inner: Size[] = first.dims.map((d) => first.inputShape[d]!);
    const o = ivar('o', numelOf(outer));
    const j = ivar('j', numelOf(inner));
    const outerIdx = unravel(o, outer);
    const innerIdx = unravel(j, inner);
    const reductions: ReductionNode[] = [first];
    const epilogues: PointwiseNode[] = [];
    const rowValues: PointwiseNode[] = [];
    const tryBuild = () => {
      const b = new KernelBuilder(this.realized);
      b.rowContext = { reductions, outerIdx };
      const rows: RowReduction[] = reductions.map((r, n) => ({
        id: n,
        op: r.op,
        dtype: r.mathDtype,
        out: r.dtype,
        body: b.track(r, () => r.body(outerIdx, innerIdx, b.read)),
        sideStores: [],
      }));
      // Reductions read outside the group, or outputs, are stored per row; so are values computed per row (mean = sum / n, keepdim views).
      const rowStores = [
        ...reductions
          .filter((r) => this.neededOutside(r, reductions, [...epilogues, ...rowValues]))
          .map((r) => ({ node: r as IRNode, expr: b.acc(r) })),
        ...rowValues.map((p) => ({ node: p as IRNode, expr: b.track(p, () => p.body(unravel(o, p.shape), b.read)) })),
      ];
      const full = (n: IRNode) => placeDims(outerIdx, innerIdx, first.dims, n.shape.length);
      const elementStores = epilogues.map((p) => ({
        node: p,
        expr: b.track(p, () => p.body(full(p), b.read)),
        index: linearize(full(p), p.shape),
      }));
      // A buffer this kernel reads must not be computed from what it writes (that would need the kernel twice).
      const members = new Set<IRNode>([...reductions, ...epilogues, ...rowValues]);
      if (b.inputs.some((input) => this.dependsOnAny(input, members)))
        throw new FusionMismatch('the row kernel would read its own results');
      if (b.inputs.length + rowStores.length + elementStores.length > this.options.maxBuffers)
        throw new FusionMismatch('over the binding limit');
      return { b, rows, rowStores, elementStores };
    };
    // Later reductions over the same rows that read the group's join while the kernel still builds, in graph order
    // (candidates are found from the group's readers, not by a pass over the graph per kernel).
    const found = this.computedReaders(first);
    let queue = byId(found);
    for (let i = 0; i < queue.length; i++) {
      const r = queue[i]!;
      if (claimed.has(r) || r.kind !== 'reduction' || rowKey(r) !== key) continue;
      reductions.push(r);
      if (!attempt(tryBuild, this.notFused(r, first))) {
        reductions.pop();
        continue;
      }
      this.decisions.push(`fuse ${label(r)} into the row kernel of ${label(first)}: same rows, one pass each, no buffer between`);
      // Its readers come after it: r keeps its place, and they are visited in order.
      queue = byId(this.computedReaders(r, found));
    }
    const readers = byId(reductions.reduce((out, r) => this.computedReaders(r, out), new Set<IRNode>()));
    // Realized elementwise values over the full rows that read the group's reductions: the epilogue.
    for (const p of readers) {
      if (p.kind !== 'pointwise' || claimed.has(p) || !this.realized.has(p) || !sameShape(p.shape, first.inputShape)) continue;
      epilogues.push(p);
      if (!attempt(tryBuild, this.notFused(p, first))) epilogues.pop();
      else
        this.decisions.push(
          `fuse ${label(p)} as the epilogue of the row kernel of ${label(first)}: written in the same pass over each row`,
        );
    }
    // rowValues: elementwise values with one element per row, computed from the accumulators before the row's store.
    for (const p of readers) {
      if (p.kind !== 'pointwise' || claimed.has(p) || epilogues.includes(p) || !this.realized.has(p) || !sameNumel(p.shape, outer))
        continue;
      rowValues.push(p);
      if (!attempt(tryBuild, this.notFused(p, first))) rowValues.pop();
      else this.decisions.push(`fuse ${label(p)} into the row kernel of ${label(first)}: one value per row, stored with the row's results`);
    }
    const built = tryBuild();
    const { b, rowStores } = built;
    const { rows, elementStores } = this.reuseRowValues(
      this.options.onlineSoftmax ? this.onlineSoftmax(built.rows, first) : built.rows,
      built.elementStores.map((e, k) => ({ ...e, output: rowStores.length + k })),
    );
    const writes = [...rowStores.map((s) => s.node), ...elementStores.map((s) => s.node)];
    const ops = b.ops;
    const kernel: Kernel = {
      kind: 'rows',
      name: this.name(ops),
      fusedOps: ops,
      outer: [...outer],
      inner,
      inputs: b.inputBuffers(),
      outputs: writes.map((w) => ({ dtype: w.dtype })),
      randomSources: b.randomSources(),
      reductions: rows,
      rowStores: rowStores.map((s, k) => ({ output: k, expr: s.expr })),
      elementStores: elementStores.map((s) => ({ output: s.output, index: s.index, expr: s.expr })),
    };
    this.checkBindings(kernel);
    return { kernel: { kernel, reads: b.inputs, writes }, members: [...reductions, ...epilogues, ...rowValues] };
  }

  private neededOutside(r: ReductionNode, reductions: readonly IRNode[], epilogues: readonly IRNode[]): boolean {
    if (this.outputs.includes(r)) return true;
    const inside = new Set<IRNode>([...reductions, ...epilogues]);
    // Users reached through inlined elementwise values count as the value that is computed.
    const reaches = (n: IRNode): boolean =>
      this.usersOf(n).some((u) => (inside.has(u) ? false : this.realized.has(u) || u.kind !== 'pointwise' ? true : reaches(u)));
    return reaches(r);
  }

  /**
   * matmulEpilogue: the elementwise value that is the matmul's only consumer
   * (bias, activation, residual add, scale) is applied to each product
   * before it is stored, saving the product's buffer and a kernel.
   */
  private matmulEpilogue(mm: MatmulNode, claimed: ReadonlySet<IRNode>): ScheduledKernel {
    const batch = mm.shape.slice(0, -2);
    const idx = [...unravel(ivar('bt', numelOf(batch)), batch), ivar('m', mm.shape.at(-2)), ivar('n', mm.shape.at(-1))];
    const candidates = [...this.computedReaders(mm)].filter(
      (p): p is PointwiseNode => p.kind === 'pointwise' && this.realized.has(p) && !claimed.has(p) && sameShape(p.shape, mm.shape),
    );
    const consumer =
      candidates.length === 1 && !this.outputs.includes(mm) && this.onlyFeeds(mm, candidates[0]!) ? candidates[0]! : undefined;
    const build = (target: PointwiseNode | undefined) => {
      const b = new KernelBuilder(this.realized);
      const a = b.operand(mm.a);
      const bOp = b.operand(mm.b);
      b.fusedMatmul = { node: mm, idx };
      const epilogue: Expr = target ? b.track(target, () => target.body(idx, b.read)) : { kind: 'acc', id: 0, dtype: mm.dtype };
      // The template's metadata has no room for random streams, nor its bindings for the assert buffer.
      if (b.randomSources().length > 0) throw new FusionMismatch('random numbers in a matmul epilogue');
      if (checksIndices(epilogue)) throw new FusionMismatch('an index check (gather) in a matmul epilogue');
      if (target && b.inputs.some((input) => this.dependsOnAny(input, new Set<IRNode>([mm, target]))))
        throw new FusionMismatch('the kernel would read its own results');
      if (3 + loadedInputs(epilogue).length > this.options.maxBuffers) throw new FusionMismatch('over the binding limit');
      return { b, a, bOp, epilogue };
    };
    const fused = consumer ? attempt(() => build(consumer), this.notFused(consumer, mm)) : undefined;
    if (fused)
      this.decisions.push(
        `fuse ${label(consumer!)} into ${label(mm)} as its epilogue: applied before the store, no buffer for the product`,
      );
    const { b, a, bOp, epilogue } = fused ?? build(undefined);
    const target = fused ? consumer! : mm;
    const ops = ['matmul', ...b.ops];
    const rank = mm.shape.length;
    const kernel: Kernel = {
      kind: 'matmul',
      name: this.name(ops),
      fusedOps: ops,
      inputs: b.inputBuffers(),
      outputs: [{ dtype: target.dtype }],
      randomSources: b.randomSources(),
      batch: mm.shape.slice(0, -2),
      M: mm.shape[rank - 2]!,
      N: mm.shape[rank - 1]!,
      K: mm.a.shape[rank - 1]!,
      a,
      b: bOp,
      epilogue,
      output: 0,
      epilogueInputs: loadedInputs(epilogue),
    };
    this.checkBindings(kernel);
    return { kernel, reads: b.inputs, writes: [target] };
  }

  /** Every path from `from` to a computed value goes through `to` (elementwise values in between are inlined). */
  private onlyFeeds(from: IRNode, to: IRNode): boolean {
    return this.usersOf(from).every((u) => u === to || (u.kind === 'pointwise' && !this.realized.has(u) && this.onlyFeeds(u, to)));
  }

  /**
   * `n` is computed (through any chain of nodes) from one of `targets`. A
   * value of a kernel formed already counts as computed from everything
   * that kernel reads: the kernel runs whole, so a kernel that reads it
   * cannot also write what that kernel reads.
   */
  private dependsOnAny(n: IRNode, targets: ReadonlySet<IRNode>): boolean {
    // A kernel is checked many times as it grows, each time from its inputs back to the graph's: the walk stops
    // at nodes from which no target's id is reachable (the earlier blocks of a deep model), or it was quadratic.
    let lowest = Number.POSITIVE_INFINITY;
    for (const t of targets) lowest = Math.min(lowest, t.id);
    const seen = new Set<IRNode>();
    const walk = (m: IRNode): boolean => {
      if (seen.has(m) || this.highestReached(m) < lowest) return false;
      seen.add(m);
      for (const d of this.successors(m)) if (targets.has(d) || walk(d)) return true;
      return false;
    };
    return walk(n);
  }

  /** What `n` counts as computed from directly: its deps and, once its kernel is formed, what that kernel reads. */
  private successors(n: IRNode): readonly IRNode[] {
    const reads = this.kernelOf.get(n)?.reads;
    return reads ? [...n.deps, ...reads] : n.deps;
  }

  /**
   * A kernel formed: its members now also count as computed from what it
   * reads. A member's known reach that this raises is forgotten, with every
   * other (they may have been derived from it); where it stays, nothing
   * derived from it changes (most kernels read only what their members
   * were computed from already, so the reach of the graph's earlier nodes
   * is found once, not once per kernel).
   */
  private forgetReachBelow(k: ScheduledKernel, members: readonly IRNode[]): void {
    // What the kernel reads is not computed from its members (no kernel reads its own results): its reach is settled.
    let read = -1;
    for (const r of k.reads) read = Math.max(read, r.id, this.highestReached(r));
    if (members.some((m) => (this.reach.get(m) ?? read) < read)) this.reach.clear();
  }

  /** The highest id of a node `n` is computed from (through deps and formed kernels, as dependsOnAny walks); -1 for none. */
  private highestReached(n: IRNode): number {
    let highest = this.reach.get(n);
    if (highest !== undefined) return highest;
    this.reach.set(n, Number.POSITIVE_INFINITY); // while it is found: a cycle (a scheduler bug) prunes nothing, and ends
    highest = -1;
    for (const d of this.successors(n)) highest = Math.max(highest, d.id, this.highestReached(d));
    this.reach.set(n, highest);
    return highest;
  }

  /**
   * onlineSoftmax: a float32 sum of exp(x - max) right after the max of x
   * over the same rows is marked online: the target may compute both in one
   * read of the row, rescaling the sum whenever the max grows. The sum's
   * pass then keeps no value for the epilogue (its max is not final yet).
   */
  private onlineSoftmax(rows: RowReduction[], first: IRNode): RowReduction[] {
    return rows.map((r, n) => {
      const max = rows[n - 1];
      const sub = r.body.kind === 'call' && r.body.op === 'exp' ? r.body.args[0] : undefined;
      const matches =
        max?.op === 'max' &&
        max.dtype === 'float32' &&
        r.op === 'sum' &&
        r.dtype === 'float32' &&
        sub?.kind === 'call' &&
        sub.op === 'sub' &&
        keyOf(sub.args[0]!) === keyOf(max.body) &&
        sub.args[1]!.kind === 'acc' &&
        sub.args[1]!.id === max.id;
      if (!matches) return r;
      this.decisions.push(`online softmax in the row kernel of ${label(first)}: the sum of exp(x - max) is taken in the max's pass`);
      return { ...r, online: true };
    });
  }

  /**
   * reuseRowValues: an element store that recomputes a value the last
   * reduction already computed for the same element (softmax's exp(x - max),
   * in its sum and in its normalized write) stores it during that pass and
   * reads it back instead: one exp per element instead of two, for a write
   * and a read the thread makes to memory it is about to write anyway.
   */
  private reuseRowValues<S extends { output: number; index: Index; expr: Expr; node: IRNode }>(
    rows: RowReduction[],
    stores: S[],
  ): { rows: RowReduction[]; elementStores: S[] } {
    const last = rows.at(-1);
    if (!last || last.online) return { rows, elementStores: stores };
    const inLast = new Map<string, Expr>();
    const collect = (e: Expr | Index) => {
      if (e.kind === 'call') inLast.set(keyOf(e), e);
      children(e).forEach(collect);
    };
    collect(last.body);
    const elementStores = stores.map((st) => {
      let best: Expr | undefined;
      const find = (e: Expr | Index) => {
        if (e.kind === 'call' && e.dtype === st.node.dtype && inLast.has(keyOf(e))) {
          if (!best || exprSize(e) > exprSize(best)) best = e;
          return; // its own subexpressions are smaller
        }
        children(e).forEach(find);
      };
      find(st.expr);
      if (!best || exprSize(best) < 4) return st; // a load or one cheap op is not worth the round trip
      last.sideStores.push({ output: st.output, index: st.index, expr: best });
      this.decisions.push(
        `reuse in ${label(st.node)} the ${exprSize(best)}-term value its row's last reduction pass computed (stored, then read back, instead of computed twice)`,
      );
      const reload: Expr = { kind: 'reload', output: st.output, index: st.index, dtype: best.dtype };
      return { ...st, expr: substitute(st.expr, new Map([[keyOf(best), reload]])) };
    });
    return { rows, elementStores };
  }

  /** Records a fusion given up: `n` stays out of the kernel of `into`, and why. */
  private notFused(n: IRNode, into: IRNode): (reason: string) => void {
    return (reason) => this.decisions.push(`not fused: ${label(n)} into the kernel of ${label(into)}: ${reason}`);
  }

  /** Every fusion above stayed within the binding limit; this catches a rule that did not. */
  private checkBindings(k: Kernel): void {
    const count = k.kind === 'matmul' ? 3 + k.epilogueInputs.length : k.inputs.length + k.outputs.length;
    if (count > this.options.maxBuffers) {
      throw new KilnError(`kernel ${k.name} needs ${count} buffers, the device allows ${this.options.maxBuffers} (scheduler bug)`, {
        op: 'inductor',
      });
    }
  }
}

/** Movement ops: index maps, not work; kernel names leave them out. */
const VIEW_OPS = new Set<string>(Object.keys(MOVEMENT));

function rowKey(r: ReductionNode): string {
  return `${r.inputShape.map(sizeKey).join(',')}|${r.dims.join(',')}`;
}

/** Nodes in graph order (ids are topological). */
function byId(nodes: Iterable<IRNode>): IRNode[] {
  return [...nodes].sort((a, b) => a.id - b.id);
}

/** The full index of an element of the reduced input: kept dims from `outer`, reduced dims from `inner`. */
function placeDims(outer: readonly Index[], inner: readonly Index[], dims: readonly number[], rank: number): Index[] {
  const full: Index[] = [];
  let o = 0;
  let j = 0;
  for (let d = 0; d < rank; d++) full.push(dims.includes(d) ? inner[j++]! : outer[o++]!);
  return full;
}

/** Kernels in an order where every buffer is written before it is read. */
function orderKernels(kernels: ScheduledKernel[]): ScheduledKernel[] {
  const writer = new Map<IRNode, ScheduledKernel>();
  kernels.forEach((k) => k.writes.forEach((w) => writer.set(w, k)));
  const done = new Set<ScheduledKernel>();
  const out: ScheduledKernel[] = [];
  const visit = (k: ScheduledKernel, path: Set<ScheduledKernel>) => {
    if (done.has(k)) return;
    if (path.has(k))
      throw new KilnError(`kernels ${[...path].map((p) => p.kernel.name).join(' -> ')} depend on each other (scheduler bug)`, {
        op: 'inductor',
      });
    path.add(k);
    for (const r of k.reads) {
      const w = writer.get(r);
      if (w && w !== k) visit(w, path);
    }
    path.delete(k);
    done.add(k);
    out.push(k);
  };
  kernels.forEach((k) => visit(k, new Set()));
  return out;
}
