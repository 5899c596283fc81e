/**
 * Symbolic sizes for a segment with dynamic dims. JavaScript numbers carry
 * no provenance (`B * T` is just 10), so a size attribute's symbolic form is
 * found from its value: the first expression over the segment's symbols
 * (its inputs' dynamic dims, one symbol per distinct size, as PyTorch's
 * duck sizing) that gives this value now and, when the same structure ran
 * before at other sizes, gave the value it had then.
 *
 * Soundness does not rest on the guess: the expression is part of the
 * segment's key, so a graph is reused only by a call whose values equal the
 * expressions at its own sizes (the JavaScript re-runs, or a replay plan is
 * per size), and each backend evaluates them at the sizes it runs with. A
 * wrong guess (a constant 64 that equals T = 64) costs one recompile; the
 * history then tells the constant from the size.
 */
import type { InputDim, OpName, SymbolicFields, SymbolicSize } from '@kiln/eager';
import { evalSize, sizeKeyText } from '@kiln/eager';

/** Attributes that hold sizes (scalars or lists), by op: the fields a size read from `shape` can reach. */
const SIZE_ATTRS: Partial<Record<OpName, readonly string[]>> = {
  reshape: ['shape'],
  view: ['shape'],
  expand: ['shape'],
  slice: ['start', 'end'],
  asStrided: ['shape', 'strides', 'offset'],
  scatterView: ['shape', 'strides', 'offset'],
  full: ['shape'],
  arange: ['start', 'end'],
  rand: ['shape'],
  randn: ['shape'],
  layerNorm: ['normalizedShape'],
  rmsNorm: ['normalizedShape'],
  tril: ['diagonal'],
  triu: ['diagonal'],
};

export function sizeFieldsOf(op: OpName): readonly string[] | undefined {
  return SIZE_ATTRS[op];
}

/** The sizes of a segment's tensor inputs, the function's integer arguments and the values of its size fields, at one call: what later calls fit expressions to. */
export interface SizeObservation {
  readonly shapes: readonly (readonly number[])[];
  /** Integer JS numbers the function received, by input path (`pos`, `opts.n`). */
  readonly numbers: Readonly<Record<string, number>>;
  readonly values: readonly number[];
}

/** A segment's symbols: one per distinct size among its inputs' dynamic dims (the first dim with it stands for it). */
export class Symbols {
  private readonly dims: InputDim[] = [];
  private readonly values: number[] = [];
  /** Static input sizes (>= 2): the coefficients `B * T` can have when only T is dynamic. */
  private readonly factors = new Set<number>();

  /**
   * `shapes`: the segment's inputs; `numbers`: inputs that stand for a
   * dynamic JS number (by input position: its path), whose size is the number.
   */
  constructor(
    private readonly shapes: readonly (readonly number[])[],
    private readonly numbers: ReadonlyMap<number, string>,
  ) {}

  /** What input dim `d` was in an earlier observation. */
  private earlier(o: SizeObservation, d: InputDim): number | undefined {
    const name = this.numbers.get(d.input);
    return name === undefined ? o.shapes[d.input]?.[d.dim] : o.numbers[name];
  }

  private evalThen(e: SymbolicSize, o: SizeObservation): number {
    let n = e.coeff;
    for (const d of e.dims) n *= this.earlier(o, d) ?? Number.NaN;
    return Math.floor(n / e.div) + e.offset;
  }

  /** Dim `dim` of input `input` is dynamic; returns its symbol's number. */
  add(input: number, dim: number): number {
    const value = this.shapes[input]![dim]!;
    const k = this.values.indexOf(value);
    if (k >= 0) return k;
    this.dims.push({ input, dim });
    return this.values.push(value) - 1;
  }

  /** Whether some symbol has size `value`. */
  has(value: number): boolean {
    return this.values.includes(value);
  }

  addStatic(value: number): void {
    if (value >= 2) this.factors.add(value);
  }

  get count(): number {
    return this.dims.length;
  }

  /**
   * The symbolic form of `value` (null: a constant). `before` are earlier
   * observations of the same structure; an expression must give their
   * values too (those at the same sizes say nothing and are skipped).
   * `scalar`: a scalar operand (`x.div(T)`), which becomes a size or a
   * product of sizes only where an earlier size confirms it (a scalar 2
   * equal to a size of 2 is too common a coincidence).
   */
  fit(value: number, position: number, before: readonly SizeObservation[], scalar: boolean): SymbolicSize | null {
    if (this.dims.length === 0 || !Number.isInteger(value)) return null;
    const informative = before.filter((o) => this.dims.some((d) => this.earlier(o, d) !== this.shapes[d.input]![d.dim]));
    const agrees = (e: SymbolicSize) =>
      evalSize(e, (i, d) => this.shapes[i]![d]!) === value && informative.every((o) => this.evalThen(e, o) === o.values[position]);
    if (informative.length > 0 && informative.every((o) => o.values[position] === value)) return null;
    if (scalar && informative.length === 0) return null; // `x.mul(2)` with a size of 2: a scalar follows a size only where an earlier size shows it
    for (const e of this.candidates(value, scalar, informative, position)) if (agrees(e)) return e;
    return null;
  }

  private *candidates(value: number, scalar: boolean, before: readonly SizeObservation[], position: number): Generator<SymbolicSize> {
    const n = this.dims.length;
    const sym = (dims: InputDim[], coeff = 1, offset = 0, div = 1): SymbolicSize => ({ dims, coeff, div, offset });
    for (let k = 0; k < n; k++) yield sym([this.dims[k]!]);
    for (let j = 0; j < n; j++) for (let k = j; k < n; k++) yield sym([this.dims[j]!, this.dims[k]!]);
    if (scalar) return;
    for (let k = 0; k < n; k++) {
      const s = this.values[k]!;
      if (value % s === 0 && this.factors.has(value / s)) yield sym([this.dims[k]!], value / s);
    }
    for (let j = 0; j < n; j++)
      for (let k = j; k < n; k++) {
        const p = this.values[j]! * this.values[k]!;
        if (value % p === 0 && this.factors.has(value / p)) yield sym([this.dims[j]!, this.dims[k]!], value / p);
      }
    // Only what an earlier size confirms: `T - 1`, `2 * T + 1`, `T // 2` (else any number near a size would match).
    for (const o of before) {
      const old = o.values[position]!;
      for (let k = 0; k < n; k++) {
        const d = this.dims[k]!;
        const [now, then] = [this.values[k]!, this.earlier(o, d)];
        if (then === undefined || now === then) continue;
        const coeff = (value - old) / (now - then);
        if (Number.isInteger(coeff) && coeff !== 0) yield sym([d], coeff, value - coeff * now);
        for (let div = 2; div <= 8; div++) yield sym([d], 1, value - Math.floor(now / div), div);
      }
    }
  }
}

/**
 * The symbolic fields of one node (undefined when none) and what its key
 * writes for its attributes. `values` collects the node's size values in
 * order (the observation), `position` is the index of its first one there.
 */
export function symbolize(
  op: OpName,
  attrs: object,
  scalars: readonly unknown[],
  symbols: Symbols,
  before: readonly SizeObservation[],
  values: number[],
): { fields: SymbolicFields | undefined; attrsKey: Record<string, unknown> | null; argKeys: (string | null)[] } {
  let attrFields: Record<string, SymbolicSize | (SymbolicSize | null)[]> | undefined;
  let attrsKey: Record<string, unknown> | null = null;
  const fit = (v: number, scalar: boolean): SymbolicSize | null => {
    const position = values.push(v) - 1;
    return symbols.fit(v, position, before, scalar);
  };
  for (const field of SIZE_ATTRS[op] ?? []) {
    const v = (attrs as Record<string, unknown>)[field];
    if (typeof v === 'number') {
      const e = fit(v, false);
      if (e) {
        (attrFields ??= {})[field] = e;
        (attrsKey ??= { ...attrs })[field] = sizeKeyText(e);
      }
    } else if (Array.isArray(v)) {
      const es = v.map((x: number) => fit(x, false));
      if (es.some((e) => e !== null)) {
        (attrFields ??= {})[field] = es;
        (attrsKey ??= { ...attrs })[field] = v.map((x: number, i) => (es[i] ? sizeKeyText(es[i]!) : x));
      }
    }
  }
  let argFields: (SymbolicSize | undefined)[] | undefined;
  const argKeys = scalars.map((a, i) => {
    if (typeof a !== 'number' || !Number.isInteger(a)) return null;
    const e = fit(a, true);
    if (!e) return null;
    (argFields ??= new Array<SymbolicSize | undefined>(scalars.length))[i] = e;
    return sizeKeyText(e);
  });
  const fields =
    attrFields || argFields ? { ...(attrFields ? { attrs: attrFields } : {}), ...(argFields ? { args: argFields } : {}) } : undefined;
  return { fields, attrsKey, argKeys };
}
