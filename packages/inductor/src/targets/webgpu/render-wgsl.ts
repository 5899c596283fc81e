/**
 * Kernels as WGSL compute shaders, each with its launch geometry (the
 * workgroups a call dispatches, from the thread counts the source
 * declares). Sizes known at compile time are literals (cheap index math);
 * dynamic sizes and random offsets come from the `info` metadata words:
 * [syms..., params...]. Buffers: binding 0 is the metadata, then inputs,
 * then outputs.
 */
import { type DType, helpersFor, PHILOX_WGSL, wgsl as W } from '@kiln/eager';
import {
  ELEMENT_THREADS,
  gridFor,
  kernelPrelude,
  type MatmulChoice,
  type MatmulDevice,
  type MatmulLaunch,
  matmulInfoWords,
  planMatmul,
  type RowStrategy,
  renderMatmulTemplate,
  renderRowsWgsl,
  rowGrid,
} from '@kiln/eager/kernels';
import { assertWgsl, type Workgroups } from '@kiln/gpu-runtime';
import { ExprEmitter, inlineIndex, type Lang, scopeOf } from '../../codegen/emit-expr';
import { type Kernel, type MatmulKernel, metadataWords, type PointwiseKernel, type RowKernel, wordsPerParam } from '../../codegen/kernel';
import { rowParts, type StoreSite } from '../../codegen/row-parts';
import { children, div, type Expr, type Index, indexValue, int, keyOf, mod, offsetOf, type Size, size } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';

export interface WgslOptions {
  /** Row kernels: one thread per row, or one workgroup per row (see RowStrategy in @kiln/eager/kernels). */
  rowStrategy: RowStrategy;
  /** Dynamic sizes: how many symbols the metadata holds before the params. */
  symCount: number;
}

/** A pointwise or row kernel in WGSL, and how to launch it. */
export interface RenderedWgsl {
  source: string;
  /** The workgroups to dispatch for a call's dynamic sizes (the source's own workgroup size and items per thread). */
  workgroups(syms: readonly number[]): Workgroups;
  /** The kernel checks indices: the runtime's assert buffer is bound after the outputs. */
  asserts: boolean;
}

/**
 * Most workgroups a pointwise kernel's grid-stride loop is given. On lavapipe
 * fewer, longer-running workgroups won: W1 at 1M elements took 3.0 ms of GPU
 * time with 256 workgroups, 4.6 ms with 1024 (equal at 4M).
 */
const POINTWISE_WORKGROUPS = 256;

/** Whether a kernel's WGSL checks indices (and so binds the assert buffer after its outputs). */
const usesAsserts = (source: string) => source.includes('kiln_check_index(');

/** WGSL spelling; dynamic sizes are metadata words from `symBase` (after a matmul template's own words). */
const lang = (symCount: number, symBase = 0): Lang => ({
  name: 'wgsl',
  bind: (name, value) => `let ${name} = ${value};`,
  int: (v) => `${v}u`,
  sym: (s) => `info(${symBase + s}u)`,
  binary: (op, a, b) => (op === 'min' ? `min(${a}, ${b})` : `(${a} ${{ add: '+', sub: '-', mul: '*', div: '/', mod: '%' }[op]} ${b})`),
  indexFromValue: (v, bound) => `min(u32(max(${v}, 0)), ${bound} - 1u)`,
  checkIndex: (v, bound, site) => `kiln_check_index(${v}, ${bound}, ${site}u);`,
  load: (input, index, dtype) => W.loadAs(`in${input}[${index}]`, dtype, dtype),
  reload: (output, index, dtype) => W.loadAs(`out${output}[${index}]`, dtype, dtype),
  constant: (value, dtype) => W.literal(value, dtype),
  convert: (value, from, to) => W.convert(value, from, to),
  keep: (value, dtype, site) => (dtype === 'float32' ? `kiln_keep(${value}, ${W.keepMask(site)})` : value),
  less: (a, b) => `(${a} < ${b})`,
  fromIndex: (index, dtype) => (dtype === 'float32' ? `f32(${index})` : dtype === 'int32' ? `i32(${index})` : `(${index} != 0u)`),
  random: (dist, param, index) => {
    const w = (k: number) => `info(${symCount + wordsPerParam * param + k}u)`;
    // position = offset + index as a u64 in two words, with the carry of the low word.
    return `kiln_random(vec2u(${w(0)} + ${index}, ${w(1)} + select(0u, 1u, ${w(0)} + ${index} < ${index})), vec2u(${w(2)}, ${w(3)}), ${dist === 'uniform' ? 0 : 1}u)`;
  },
});

function header(k: Kernel, symCount: number, vectorInputs: ReadonlySet<number>, vectorOutputs: ReadonlySet<number>, body: string): string {
  const words = metadataWords(symCount, k.randomSources.length);
  const decl = (name: string, t: DType, vec: boolean, access: 'read' | 'read_write', binding: number) =>
    `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${vec ? `vec4<${W.STORAGE_TYPE[t]}>` : W.STORAGE_TYPE[t]}>;`;
  const bindings = [
    ...k.inputs.map((b, i) => decl(`in${i}`, b.dtype, vectorInputs.has(i), 'read', 1 + i)),
    ...k.outputs.map((b, i) => decl(`out${i}`, b.dtype, vectorOutputs.has(i), 'read_write', 1 + k.inputs.length + i)),
  ];
  const helpers = new Set(helpersFor(body, 'wgsl'));
  if (body.includes('kiln_random(')) helpers.add(PHILOX_WGSL);
  if (usesAsserts(body)) helpers.add(assertWgsl(1 + k.inputs.length + k.outputs.length));
  return `// kiln kernel ${k.name}: ${k.fusedOps.join(', ')}
${kernelPrelude(words)}
${bindings.join('\n')}
${[...helpers].join('\n')}
`;
}

const numelText = (shape: readonly Size[], symCount: number) => inlineIndex(lang(symCount), size(numelOf(shape)));
const indent = (lines: readonly string[], n: number) => lines.map((l) => ' '.repeat(n) + l).join('\n');

export function renderWgsl(k: PointwiseKernel | RowKernel, options: WgslOptions): RenderedWgsl {
  if (k.kind === 'pointwise') return renderPointwise(k, options);
  const source = renderRows(k, options);
  const rows = numelOf(k.outer);
  return { source, workgroups: (syms) => [rowGrid(options.rowStrategy, sizeValue(rows, syms))], asserts: usesAsserts(source) };
}

/**
 * One thread per element (grid-stride). When every output store and some
 * loads are at exactly the linear index and the size is a multiple of 4,
 * those go through vec4 (the loads bound this kernel) and the math runs per
 * lane; other loads (broadcasts, gathers) stay scalar.
 */
function renderPointwise(k: PointwiseKernel, o: WgslOptions): RenderedWgsl {
  const numel = k.shape.every((s) => typeof s === 'number') ? (k.shape as number[]).reduce((a, b) => a * b, 1) : undefined;
  const linearLoads = linearInputs(k);
  const vec4 = numel !== undefined && numel % 4 === 0 && numel > 0 && k.outputs.length > 0;
  const vectorInputs = vec4 ? linearLoads : new Set<number>();
  const scope = scopeOf(k, () => {
    throw new Error('pointwise kernels have no accumulators');
  });
  const L = lang(o.symCount);
  let body: string[];
  if (vec4) {
    const lanes = ['x', 'y', 'z', 'w'];
    const vecLang: Lang = {
      ...L,
      load: (input, index, dtype) =>
        vectorInputs.has(input) && index === 'i' ? W.loadAs(`v${input}.${laneOf(index)}`, dtype, dtype) : L.load(input, index, dtype),
    };
    let laneOf = (_: string) => 'x';
    body = [...vectorInputs].map((input) => `let v${input} = in${input}[q];`);
    for (const lane of lanes) {
      laneOf = () => lane;
      const e = new ExprEmitter(vecLang, scope, `${lane}_`);
      e.lines.push(`let i = q * 4u + ${lanes.indexOf(lane)}u;`);
      const values = k.stores.map((s) => e.value(s.expr, k.outputs[s.output]!.dtype));
      body.push(
        `{`,
        ...e.lines.map((l) => `  ${l}`),
        ...k.stores.map(
          (s, n) => `  r${s.output}.${lane} = ${W.storeAs(values[n]!, k.outputs[s.output]!.dtype, k.outputs[s.output]!.dtype)};`,
        ),
        `}`,
      );
    }
    body.unshift(...k.stores.map((s) => `var r${s.output}: vec4<${W.STORAGE_TYPE[k.outputs[s.output]!.dtype]}>;`));
    body.push(...k.stores.map((s) => `out${s.output}[q] = r${s.output};`));
  } else {
    const e = new ExprEmitter(L, scope);
    const values = k.stores.map((s) => e.value(s.expr, k.outputs[s.output]!.dtype));
    body = [
      ...e.lines,
      ...k.stores.map((s, n) => `out${s.output}[i] = ${W.storeAs(values[n]!, k.outputs[s.output]!.dtype, k.outputs[s.output]!.dtype)};`),
    ];
  }
  const count = vec4 ? `${numel! / 4}u` : numelText(k.shape, o.symCount);
  const loopVar = vec4 ? 'q' : 'i';
  const text = body.join('\n');
  const threads = ELEMENT_THREADS;
  const source = `${header(k, o.symCount, vectorInputs, new Set(vec4 ? k.outputs.keys() : []), text)}@compute @workgroup_size(${threads})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${[W.OPAQUE_ZERO_INIT, ...W.keepMasks(text)].join('\n  ')}
  _ = info(0u); // the metadata stays bound even when this kernel needs none
  let count = ${count};
  for (var ${loopVar} = gid.x; ${loopVar} < count; ${loopVar} += nwg.x * ${threads}u) {
${indent(body, 4)}
  }
}
`;
  const items = numelOf(k.shape);
  const perThread = vec4 ? 4 : 1;
  return {
    source,
    workgroups: (syms) => [gridFor(sizeValue(items, syms) / perThread, threads, POINTWISE_WORKGROUPS)],
    asserts: usesAsserts(source),
  };
}

/** Inputs every load of which is at exactly the linear index `i`. */
function linearInputs(k: PointwiseKernel): Set<number> {
  const linear = new Set<number>(k.inputs.map((_, i) => i));
  const visit = (e: Expr | Index): void => {
    if (e.kind === 'load' && keyOf(e.index) !== 'i') linear.delete(e.input);
    children(e).forEach(visit);
  };
  k.stores.forEach((s) => visit(s.expr));
  return linear;
}

/**
 * Row kernels: the row template (@kiln/eager/kernels) around the kernel's
 * row parts. One thread per row over a static row length of a multiple of
 * 4 takes 4 positions a step, reading as vec4 (once a step) each input
 * every read of which is at (the same multiple of 4) + j; lavapipe gathers
 * a vec4 per thread where it gathered 4 scalars. An output every access of
 * which is at such a position is a vec4 array too: the lanes' element
 * writes are gathered into one vec4 store a step, writes during a pass and
 * reloads take their lane's component. With the lanes' own accumulators,
 * W2's kernel went from 7.4 to 4.5 ms of GPU time (medians, lavapipe).
 */
function renderRows(k: RowKernel, o: WgslOptions): string {
  const L = lang(o.symCount);
  const store = (output: number, index: string, value: string) => {
    const t = k.outputs[output]!.dtype;
    return `out${output}[${index}] = ${W.storeAs(value, t, t)};`;
  };
  const { inputs, outputs } =
    o.rowStrategy === 'thread' ? vectorRowSlots(k) : { inputs: new Map<number, Index>(), outputs: new Map<number, Index>() };
  const laneLang = (lane: number): Lang => ({
    ...L,
    load: (input, index, dtype) => (inputs.has(input) ? W.loadAs(`x${input}[${lane}]`, dtype, dtype) : L.load(input, index, dtype)),
    reload: (output, index, dtype) =>
      outputs.has(output) ? W.loadAs(`out${output}[vo${output} + q][${lane}]`, dtype, dtype) : L.reload(output, index, dtype),
  });
  const laneStore = (lane: number) => (output: number, index: string, value: string, site: StoreSite) => {
    if (!outputs.has(output)) return store(output, index, value);
    const t = k.outputs[output]!.dtype;
    return `${site === 'element' ? `w${output}` : `out${output}[vo${output} + q]`}[${lane}] = ${W.storeAs(value, t, t)};`;
  };
  const written = [...new Set(k.elementStores.map((s) => s.output))].filter((out) => outputs.has(out));
  return renderRowsWgsl({
    strategy: o.rowStrategy,
    header: (body) => header(k, o.symCount, new Set(inputs.keys()), new Set(outputs.keys()), body),
    rows: numelText(k.outer, o.symCount),
    rowLength: numelText(k.inner, o.symCount),
    ...rowParts(k, L, store),
    lanes:
      inputs.size + outputs.size > 0
        ? {
            setup: laneSetup(k, L, [
              ...[...inputs].map(([input, base]) => [`vb${input}`, base] as const),
              ...[...outputs].map(([output, base]) => [`vo${output}`, base] as const),
            ]),
            step: [...inputs.keys()].map((input) => ({ name: `x${input}`, line: `let x${input} = in${input}[vb${input} + q];` })),
            each: [0, 1, 2, 3].map((lane) => rowParts(k, laneLang(lane), laneStore(lane))),
            write: {
              declare: written.map((out) => `var w${out}: vec4<${W.STORAGE_TYPE[k.outputs[out]!.dtype]}>;`),
              store: written.map((out) => `out${out}[vo${out} + q] = w${out};`),
            },
          }
        : undefined,
  });
}

/** Per row: each name, the vec4 index of the row's first element (base / 4). */
function laneSetup(k: RowKernel, L: Lang, bases: readonly (readonly [string, Index])[]): string[] {
  const e = new ExprEmitter(
    L,
    scopeOf(k, () => {
      throw new Error('a row base reads no accumulator');
    }),
    'vb_',
  );
  const names = bases.map(([name, base]) => `let ${name} = ${e.index(div(base, int(4)))};`);
  return [...e.lines, ...names];
}

/**
 * Inputs and outputs of a row kernel that can be vec4 arrays: slot -> the
 * row's base index (a multiple of 4), every read (and write) at base + j.
 * An output written once per row cannot.
 */
function vectorRowSlots(k: RowKernel): { inputs: Map<number, Index>; outputs: Map<number, Index> } {
  const length = numelOf(k.inner);
  if (typeof length !== 'number' || length === 0 || length % 4 !== 0) return { inputs: new Map(), outputs: new Map() };
  const inputs = new Map<number, Index | undefined>();
  const outputs = new Map<number, Index | undefined>();
  const see = (bases: Map<number, Index | undefined>, slot: number, index: Index | undefined) => {
    const base = index && offsetOf(index, 'j');
    const seen = bases.get(slot);
    const fits =
      base !== undefined &&
      keyOf(mod(base, int(4))) === keyOf(int(0)) &&
      (seen === undefined ? !bases.has(slot) : keyOf(seen) === keyOf(base));
    bases.set(slot, fits ? base : undefined);
  };
  const visit = (e: Expr | Index): void => {
    if (e.kind === 'load') see(inputs, e.input, e.index);
    if (e.kind === 'reload') see(outputs, e.output, e.index);
    children(e).forEach(visit);
  };
  for (const r of k.reductions) {
    [r.body, ...r.sideStores.map((s) => s.expr)].forEach(visit);
    r.sideStores.forEach((s) => see(outputs, s.output, s.index));
  }
  [...k.rowStores, ...k.elementStores].forEach((s) => visit(s.expr));
  k.rowStores.forEach((s) => see(outputs, s.output, undefined));
  k.elementStores.forEach((s) => see(outputs, s.output, s.index));
  const fitting = (bases: Map<number, Index | undefined>) =>
    new Map([...bases].flatMap(([slot, base]) => (base ? [[slot, base] as const] : [])));
  return { inputs: fitting(inputs), outputs: fitting(outputs) };
}

/** A matmul kernel's operands as views at a call's dynamic sizes: a [...batch, M, K], b [...batch, K, N]. */
export function matmulOperands(k: MatmulKernel, syms: readonly number[]): { a: MatmulView; b: MatmulView } {
  const at = (ix: Index) => indexValue(ix, syms);
  const batch = k.batch.map((s) => sizeValue(s, syms));
  const [M, N, K] = [k.M, k.N, k.K].map((s) => sizeValue(s, syms)) as [number, number, number];
  return {
    a: { shape: [...batch, M, K], strides: k.a.strides.map(at), offset: at(k.a.offset) },
    b: { shape: [...batch, K, N], strides: k.b.strides.map(at), offset: at(k.b.offset) },
  };
}

interface MatmulView {
  shape: number[];
  strides: number[];
  offset: number;
}

/**
 * A matmul kernel's launch for a call's dynamic sizes: the template's
 * variant and tile for the operands' layouts, the grid, the metadata words
 * (planMatmul in @kiln/eager/kernels), `given` (a tuned choice) where
 * the call's layout allows it.
 */
export function matmulLaunch(k: MatmulKernel, syms: readonly number[], device: MatmulDevice, given?: MatmulChoice): MatmulLaunch {
  const { a, b } = matmulOperands(k, syms);
  return planMatmul(a, b, 0, device, true, given);
}

/** A matmul kernel for the variant and tile `launch` planned (planMatmul in @kiln/eager/kernels); its grid is the launch's too. */
export function renderMatmulWgsl(k: MatmulKernel, launch: Pick<MatmulLaunch, 'variant' | 'tile'>, symCount: number): string {
  const L = lang(symCount, matmulInfoWords(k.batch.length));
  const fixed = new Map([
    ['bt', 'batch'],
    ['m', 'row'],
    ['n', 'col'],
  ]);
  // The template binds a, b and the output first; the buffers the epilogue loads follow from binding 4.
  const extras = k.epilogueInputs;
  const out = k.outputs[k.output]!.dtype;
  return renderMatmulTemplate({
    name: k.name,
    comment: `kiln kernel ${k.name}: ${k.fusedOps.join(', ')}`,
    batchRank: k.batch.length,
    extraInfoWords: symCount,
    variant: launch.variant,
    tile: launch.tile,
    extraBindings: extras
      .map((i, n) => `@group(0) @binding(${4 + n}) var<storage, read> in${i}: array<${W.STORAGE_TYPE[k.inputs[i]!.dtype]}>;`)
      .join('\n'),
    outputType: W.STORAGE_TYPE[out] as 'f32' | 'i32' | 'u32',
    epilogue: (acc) => {
      const e = new ExprEmitter(
        L,
        scopeOf(k, () => acc, fixed),
        'ep_',
      );
      const value = W.storeAs(e.value(k.epilogue, out), out, out);
      return { lines: e.lines, value };
    },
    helpers: (text) => [...helpersFor(text, 'wgsl')],
  });
}
