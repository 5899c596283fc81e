/**
 * Source text of nested JS loops over strided arrays, shared by the
 * generated cpu kernels. Each "walker" is an element offset into one array
 * that starts at an expression and moves by a per-dim stride, so a kernel
 * reads any view (transposed, broadcast, sliced) with additions only.
 */
export interface Walker {
  /** Name prefix of the offset variables. */
  readonly ptr: string;
  /** Expression of the offset before the first iteration. */
  readonly start: string;
  /** Name prefix of the stride locals: `${stride}${d}` is the stride of dim d. */
  readonly stride: string;
}

/**
 * `rank` nested loops, dim d running `${size}${d}` times with counter
 * `${tag}${d}`. `body` receives each walker's current offset expression.
 */
export function loopNest(
  rank: number,
  size: string,
  tag: string,
  walkers: readonly Walker[],
  body: (at: (walker: number) => string) => string,
): string {
  if (rank === 0) return body((k) => walkers[k].start);
  const name = (k: number, d: number) => `${walkers[k].ptr}${tag}${d}`;
  let open = '';
  let close = '';
  for (let d = 0; d < rank; d++) {
    open += walkers.map((w, k) => `let ${name(k, d)} = ${d === 0 ? w.start : name(k, d - 1)};`).join(' ');
    open += `\nfor (let ${tag}${d} = 0; ${tag}${d} < ${size}${d}; ${tag}${d}++) {\n`;
  }
  for (let d = rank - 1; d >= 0; d--) {
    close += `${walkers.map((w, k) => `${name(k, d)} += ${w.stride}${d};`).join(' ')}\n}\n`;
  }
  return `${open + body((k) => name(k, rank - 1))}\n${close}`;
}

/** `const ${prefix}0 = ${array}[0], ...;` for dims 0..rank-1 (hoists sizes and strides into locals). */
export function locals(prefix: string, array: string, rank: number, from = 0): string {
  if (rank === 0) return '';
  return `const ${Array.from({ length: rank }, (_, d) => `${prefix}${d} = ${array}[${from + d}]`).join(', ')};`;
}
