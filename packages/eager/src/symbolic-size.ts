/**
 * Symbolic sizes in a graph: an attribute or scalar argument of a call
 * node that was computed from the sizes of the graph's inputs
 * (`x.reshape(B * T, C)` with `[B, T, C] = x.shape`) says so, as
 * `floor(coeff * Π sizes / div) + offset` over input dims. A graph traced
 * at one size then runs at another: each backend evaluates these at the
 * sizes it runs with (the eager runner at the inputs' real sizes, the
 * inductor at its marker sizes, which carry the symbols into its kernels).
 */

/** Dim `dim` of the graph's input at placeholder position `input`. */
export interface InputDim {
  readonly input: number;
  readonly dim: number;
}

/** `floor(coeff * Π dims / div) + offset`: covers `B * T`, `2 * T`, `T - 1`, `Math.floor(T / 2)`. */
export interface SymbolicSize {
  readonly dims: readonly InputDim[];
  readonly coeff: number;
  readonly div: number;
  readonly offset: number;
}

/** An attribute's symbolic form: the size itself, or for a list (a shape), each element's (null: that element is a constant). */
export type SymbolicAttr = SymbolicSize | readonly (SymbolicSize | null)[];

/** Which attributes and scalar arguments of a call node are symbolic (the node's concrete values are those of the traced call). */
export interface SymbolicFields {
  readonly attrs?: Readonly<Record<string, SymbolicAttr>>;
  /** By argument position; undefined entries are constants (or tensors). */
  readonly args?: readonly (SymbolicSize | undefined)[];
}

export type SizeOf = (input: number, dim: number) => number;

export function evalSize(s: SymbolicSize, sizeOf: SizeOf): number {
  let n = s.coeff;
  for (const d of s.dims) n *= sizeOf(d.input, d.dim);
  return Math.floor(n / s.div) + s.offset;
}

const isList = (a: SymbolicAttr): a is readonly (SymbolicSize | null)[] => Array.isArray(a);

/** `attrs` with each symbolic field evaluated at `sizeOf`. */
export function attrsAt<A extends object>(attrs: A, symbolic: SymbolicFields | undefined, sizeOf: SizeOf): A {
  if (!symbolic?.attrs) return attrs;
  const out: Record<string, unknown> = { ...(attrs as Record<string, unknown>) };
  for (const [k, s] of Object.entries(symbolic.attrs)) {
    const concrete = (attrs as Record<string, unknown>)[k];
    out[k] = isList(s) ? s.map((e, i) => (e ? evalSize(e, sizeOf) : (concrete as readonly number[])[i])) : evalSize(s, sizeOf);
  }
  return out as A;
}

/** `args` with each symbolic scalar evaluated at `sizeOf`. */
export function argsAt<T>(args: readonly T[], symbolic: SymbolicFields | undefined, sizeOf: SizeOf): readonly (T | number)[] {
  const syms = symbolic?.args;
  return syms ? args.map((a, i) => (syms[i] ? evalSize(syms[i]!, sizeOf) : a)) : args;
}

/** `2*s0*s1 - 1`, `s0 // 2`: each input dim named by `name`. */
export function sizeText(s: SymbolicSize, name: (d: InputDim) => string): string {
  const factors = s.dims.map(name);
  if (s.coeff !== 1 || factors.length === 0) factors.unshift(String(s.coeff));
  let text = factors.join('*');
  if (s.div !== 1) text = `${text} // ${s.div}`;
  if (s.offset !== 0) text = `${text} ${s.offset < 0 ? '-' : '+'} ${Math.abs(s.offset)}`;
  return text;
}

/** A stable text of `s` for keys (input dims by position). */
export function sizeKeyText(s: SymbolicSize): string {
  return sizeText(s, (d) => `$${d.input}.${d.dim}`);
}
