/**
 * Tensors printed as PyTorch prints them:
 *
 *   tensor([[ 1.0000, -2.5000],
 *           [    nan,     inf]])
 *   tensor([1, 2, 3], dtype=int32)
 *   tensor([ True, False], device='webgpu')
 *
 * One format for all the elements (integral floats as `1.`, fixed with four
 * decimals, or scientific when the magnitudes are far apart), right-aligned;
 * more than 1000 elements print the first and last three of each dim around
 * `...`. float32 and cpu are the defaults and not shown.
 */
import type { Device } from './backend';
import type { DType, TypedArray } from './dtype';

/** Elements above which a tensor prints summarized (PyTorch's threshold), and the items kept at each edge. */
const THRESHOLD = 1000;
/** Tensors this small print every element. */
export const PRINTED_IN_FULL = THRESHOLD;
const EDGE = 3;

export function formatValues(data: TypedArray, shape: readonly number[], dtype: DType, device: Device): string {
  const summarize = data.length > THRESHOLD;
  const show = elementFormat(data, dtype, summarize ? shownIndices(shape) : undefined);
  const prefix = 'tensor(';
  const body = nested(data, shape, show, summarize, prefix.length);
  const extras = [
    ...(dtype === 'float32' || dtype === 'bool' ? [] : [`dtype=${dtype}`]),
    ...(device === 'cpu' ? [] : [`device='${device}'`]),
  ];
  const empty = data.length === 0 && shape.length > 1 ? `, size=[${shape.join(', ')}]` : '';
  return `${prefix}${body}${empty}${extras.map((e) => `, ${e}`).join('')})`;
}

/** The flat indices a summarized print shows (the first and last EDGE of each dim). */
function shownIndices(shape: readonly number[]): Set<number> {
  const out = new Set<number>();
  const walk = (d: number, base: number) => {
    if (d === shape.length) return void out.add(base);
    const size = shape[d]!;
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < size; i++) if (size <= 2 * EDGE || i < EDGE || i >= size - EDGE) walk(d + 1, base + i * stride);
  };
  walk(0, 0);
  return out;
}

/** How every element prints, padded to one width. */
function elementFormat(data: TypedArray, dtype: DType, shown: Set<number> | undefined): (v: number) => string {
  const values = shown ? [...shown].map((i) => data[i]!) : Array.from(data);
  let text: (v: number) => string;
  if (dtype === 'bool') text = (v) => (v ? 'True' : 'False');
  else if (dtype === 'int32') text = String;
  else {
    const finite = values.filter(Number.isFinite);
    const abs = finite.map(Math.abs).filter((v) => v > 0);
    const [lo, hi] = abs.length > 0 ? [Math.min(...abs), Math.max(...abs)] : [1, 1];
    const special = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : undefined);
    if (finite.every(Number.isInteger) && hi < 1e8) text = (v) => special(v) ?? `${v.toFixed(0)}.`;
    else if (hi / lo > 1000 || hi >= 1e8 || lo < 1e-4) text = (v) => special(v) ?? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    else text = (v) => special(v) ?? v.toFixed(4);
  }
  const width = Math.max(0, ...values.map((v) => text(v).length));
  return (v) => text(v).padStart(width);
}

function nested(data: TypedArray, shape: readonly number[], show: (v: number) => string, summarize: boolean, indent: number): string {
  if (shape.length === 0) return show(data[0]!);
  const walk = (d: number, base: number): string => {
    const size = shape[d]!;
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    const items: string[] = [];
    for (let i = 0; i < size; i++) {
      if (summarize && size > 2 * EDGE && i === EDGE) {
        items.push(d === shape.length - 1 ? ' ...' : '...'); // PyTorch's spacing
        i = size - EDGE - 1;
        continue;
      }
      items.push(d === shape.length - 1 ? show(data[base + i]!) : walk(d + 1, base + i * stride));
    }
    // Rows of the last dim on one line; deeper dims one per line, blank lines between blocks of 3-d and up.
    const pad = ' '.repeat(indent + d + 1);
    const sep = d === shape.length - 1 ? ', ' : `,${'\n'.repeat(Math.max(1, shape.length - d - 1))}${pad}`;
    return `[${items.join(sep)}]`;
  };
  return walk(0, 0);
}
