/**
 * A row kernel's bodies spelled in one language, for both renderers (they
 * differ only in the loops around these: the WGSL row template of
 * @kiln/eager/kernels, or render-js's two loops): each reduction's
 * statements and its pass over the row with the values it stores on the
 * way, then the row's values and stores, then the element stores.
 * Accumulators are named by position in the kernel, not node id, so the
 * same kernel in another layer is the same text (one pipeline or function).
 */
import { type RowPass, reductionStatements } from '@kiln/eager/kernels';
import { ExprEmitter, type Lang, scopeOf } from './emit-expr';
import type { RowKernel } from './kernel';

export interface RowParts {
  reductions: RowPass[];
  /** After the reductions: values the row and element stores read. */
  rowLines: string[];
  /** Writes at row `o`. */
  rowStores: string[];
  /** Per position `j` after the reductions (the epilogue). */
  elementLines: string[];
}

/** Where a row kernel writes: during a reduction's pass, once per row, or per position after the reductions. */
export type StoreSite = 'pass' | 'row' | 'element';

/** `store(output, index, value, site)` spells the write of `value` to output slot `output` at `index`. */
export function rowParts(
  k: RowKernel,
  lang: Lang,
  store: (output: number, index: string, value: string, site: StoreSite) => string,
): RowParts {
  const codes = new Map(
    k.reductions.map((r, n) => [r.id, reductionStatements(lang.name, r.op, r.dtype, r.out, { acc: `acc${n}`, idx: `idx${n}` })]),
  );
  const root = new ExprEmitter(
    lang,
    scopeOf(k, (id) => codes.get(id)!.result),
  );
  const dtype = (output: number) => k.outputs[output]!.dtype;
  const passes = k.reductions.map((r, n): RowPass => {
    const e = root.child(`r${n}_`);
    const value = e.value(r.body, r.dtype);
    const side = r.sideStores.map((st) => store(st.output, e.index(st.index), e.value(st.expr, dtype(st.output)), 'pass'));
    return { code: codes.get(r.id)!, lines: [...e.lines, ...side], value };
  });
  // An online sum rides in the pass of the max before it.
  const reductions = passes.flatMap((p, n) => {
    const next = passes[n + 1];
    if (k.reductions[n]!.online) return [];
    return [k.reductions[n + 1]?.online && next ? { ...p, online: next } : p];
  });
  const rowValues = k.rowStores.map((s) => root.value(s.expr, dtype(s.output)));
  const rowStores = k.rowStores.map((s, n) => store(s.output, 'o', rowValues[n]!, 'row'));
  const rowLines = root.lines.splice(0);
  const elementLines: string[] = [];
  if (k.elementStores.length > 0) {
    const e = root.child('e_');
    const values = k.elementStores.map((s) => e.value(s.expr, dtype(s.output)));
    const writes = k.elementStores.map((s, n) => store(s.output, e.index(s.index), values[n]!, 'element'));
    elementLines.push(...e.lines, ...writes);
  }
  return { reductions, rowLines, rowStores, elementLines };
}
