/**
 * Kernels as JavaScript for the cpu device: the same kernel IR as the WGSL
 * renderer, spelled as loops over typed arrays and built once per source
 * text with `new Function`. Values are JS numbers (bool 0/1, int32 kept in
 * range by the templates), as in @kiln/eager's cpu kernels.
 *
 * A built kernel is `(ins, outs, info, random, fail)`: typed arrays, the
 * metadata words ([syms..., params...], as on WGSL), the Philox function and
 * the thrower of failed index checks.
 */
import { helpersFor, jsConvert } from '@kiln/eager';
import { jsKernel, renderMatmulJs, rowPassLines } from '@kiln/eager/kernels';
import { ExprEmitter, inlineIndex, type Lang, scopeOf } from '../../codegen/emit-expr';
import { type GeneratedKernel, type MatmulKernel, type PointwiseKernel, type RowKernel, wordsPerParam } from '../../codegen/kernel';
import { rowParts } from '../../codegen/row-parts';
import { type Index, type Size, size } from '../../ir/expr';
import { numelOf } from '../../ir/size';

export type JsKernel = (
  ins: readonly ArrayLike<number>[],
  outs: readonly { [i: number]: number; length: number }[],
  info: readonly number[],
  random: (dist: 0 | 1, offsetLo: number, offsetHi: number, seedLo: number, seedHi: number, index: number) => number,
  /** Throws the error of a failed index check (assert `site`, see @kiln/gpu-runtime's device-asserts). */
  fail: (site: number, index: number, size: number) => never,
) => void;

const jsLang = (symCount: number): Lang => ({
  name: 'js',
  bind: (name, value) => `const ${name} = ${value};`,
  int: (v) => String(v),
  sym: (s) => `info[${s}]`,
  binary: (op, a, b) =>
    op === 'div'
      ? `Math.floor(${a} / ${b})`
      : op === 'min'
        ? `Math.min(${a}, ${b})`
        : `(${a} ${{ add: '+', sub: '-', mul: '*', mod: '%' }[op]} ${b})`,
  indexFromValue: (v, bound) => `Math.min(Math.max(${v}, 0), ${bound} - 1)`,
  checkIndex: (v, bound, site) => `if (!(${v} >= 0 && ${v} < ${bound})) fail(${site}, ${v}, ${bound});`,
  load: (input, index) => `in${input}[${index}]`,
  reload: (output, index) => `out${output}[${index}]`,
  constant: (value, dtype) =>
    dtype === 'bool'
      ? value
        ? '1'
        : '0'
      : Number.isNaN(value)
        ? 'NaN'
        : Object.is(value, -0)
          ? '-0'
          : String(dtype === 'float32' ? Math.fround(value) : value | 0),
  convert: (value, from, to) => jsConvert(value, from, to),
  // Each float result rounds to float32 as eager's store does: a double would differ where float32 overflows or cancels.
  keep: (value, dtype) => (dtype === 'float32' ? `Math.fround(${value})` : value),
  less: (a, b) => `+(${a} < ${b})`,
  fromIndex: (index) => index,
  random: (dist, param, index) => {
    const w = (k: number) => `info[${symCount + wordsPerParam * param + k}]`;
    return `random(${dist === 'uniform' ? 0 : 1}, ${w(0)}, ${w(1)}, ${w(2)}, ${w(3)}, ${index})`;
  },
});

const numelText = (shape: readonly Size[]) => inlineIndex(jsLang(0), size(numelOf(shape)));
const indent = (lines: readonly string[], n: number) => lines.map((l) => ' '.repeat(n) + l).join('\n');

/** The function body (source) of a kernel; `buildJs` turns it into a function. */
export function renderJs(k: GeneratedKernel, symCount: number): string {
  const lang = jsLang(symCount);
  let body: string[];
  switch (k.kind) {
    case 'pointwise':
      body = pointwise(k, lang);
      break;
    case 'rows':
      body = rows(k, lang);
      break;
    case 'matmul':
      body = matmul(k, lang);
      break;
  }
  const text = body.join('\n');
  const bind = [...k.inputs.map((_, i) => `const in${i} = ins[${i}];`), ...k.outputs.map((_, i) => `const out${i} = outs[${i}];`)];
  return `// kiln kernel ${k.name}: ${k.fusedOps.join(', ')}
${helpersFor(text, 'js').join('\n')}
return function kernel(ins, outs, info, random, fail) {
${indent([...bind, ...body], 2)}
};`;
}

/**
 * Builds a kernel's JS source once through the shared kernel cache (jsKernel
 * in @kiln/eager/kernels), keyed without the first line, the comment naming
 * the kernel: identical kernels of identical layers share one function.
 */
export function buildJs(source: string): JsKernel {
  const code = source.startsWith('//') ? source.slice(source.indexOf('\n') + 1) : source;
  return jsKernel<JsKernel>(code, () => code);
}

function store(out: string, index: string, value: string): string {
  return `${out}[${index}] = ${value};`;
}

function pointwise(k: PointwiseKernel, lang: Lang): string[] {
  const e = new ExprEmitter(
    lang,
    scopeOf(k, () => {
      throw new Error('pointwise kernels have no accumulators');
    }),
  );
  const values = k.stores.map((s) => e.value(s.expr, k.outputs[s.output]!.dtype));
  return [
    `for (let i = 0, n = ${numelText(k.shape)}; i < n; i++) {`,
    indent([...e.lines, ...k.stores.map((s, j) => store(`out${s.output}`, 'i', values[j]!))], 2),
    '}',
  ];
}

function rows(k: RowKernel, lang: Lang): string[] {
  const p = rowParts(k, lang, (output, index, value) => store(`out${output}`, index, value));
  const rowLength = numelText(k.inner);
  const overRow = (lines: readonly string[]) => [`for (let j = 0; j < ${rowLength}; j++) {`, indent(lines, 2), '}'];
  const parts = [
    ...p.reductions.flatMap((r) => {
      const { declare, body, after } = rowPassLines('js', r, rowLength);
      return [...declare, ...overRow(body), ...after];
    }),
    ...p.rowLines,
    ...p.rowStores,
    ...(p.elementLines.length > 0 ? overRow(p.elementLines) : []),
  ];
  return [`for (let o = 0, rows = ${numelText(k.outer)}; o < rows; o++) {`, indent(parts, 2), '}'];
}

/** The cpu matmul template (@kiln/eager/kernels), its epilogue applied to the float32 product as each block of rows is written out. */
function matmul(k: MatmulKernel, lang: Lang): string[] {
  const fixed = new Map([
    ['bt', 'bt'],
    ['m', 'm'],
    ['n', 'n'],
  ]);
  const { a, b } = k;
  const rank = a.strides.length;
  const text = (ix: Index) => inlineIndex(lang, ix);
  const [M, N, K] = [k.M, k.N, k.K].map((s) => text(size(s)));
  const batchTerms = (op: MatmulKernel['a']) =>
    k.batch.map(
      (_, d) => `(Math.floor(bt / (${text(size(numelOf(k.batch.slice(d + 1))))})) % ${text(size(k.batch[d]!))}) * ${text(op.strides[d]!)}`,
    );
  return [
    `const M = ${M}, N = ${N}, K = ${K};`,
    `const A = in${a.input}, Bsrc = in${b.input};`,
    `const sam = ${text(a.strides[rank - 2]!)}, sak = ${text(a.strides[rank - 1]!)}, sbk = ${text(b.strides[rank - 2]!)}, sbn = ${text(b.strides[rank - 1]!)};`,
    ...renderMatmulJs({
      elementType: 'float32',
      batches: text(size(numelOf(k.batch))),
      aBase: [text(a.offset), ...batchTerms(a)].join(' + '),
      bBase: [text(b.offset), ...batchTerms(b)].join(' + '),
      store: (product) => {
        const e = new ExprEmitter(
          lang,
          scopeOf(k, () => product, fixed),
          'ep_',
        );
        const value = e.value(k.epilogue, k.outputs[k.output]!.dtype);
        return [...e.lines, store(`out${k.output}`, '(bt * M + m) * N + n', value)];
      },
    }),
  ];
}
