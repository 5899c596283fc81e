/**
 * Row reductions, eager's and the compiler's: the statements of one
 * reduction from its op template (../ops/reductions) in WGSL or JS, how
 * rows are spread over threads, and the WGSL row kernel around them (one
 * thread per row, or one workgroup per row combining partials in a tree).
 */
import type { DType } from '../dtype';
import { jsConvert } from '../ops/elementwise';
import { REDUCTIONS, type ReduceOp } from '../ops/reductions';
import { convert, keepMasks, literal, OPAQUE_ZERO_INIT, VALUE_TYPE } from '../wgsl';
import { gridFor } from './prelude';

export type KernelLang = 'wgsl' | 'js';

/**
 * The statements of one row reduction. argmax/argmin also track the
 * position of the accumulator in `idx`: -1 until the first element, which
 * is always taken; after it an element replaces the accumulator only when
 * it beats it (a NaN beats any number, ties keep the earlier), so the first
 * NaN wins, else the first extreme, as in PyTorch.
 */
export interface ReductionStatements {
  /** The accumulator's name; a partial from another thread is `${acc}2` (and `${idx}2`). */
  acc: string;
  idx: string;
  /** WGSL type of the accumulator (of the workgroup partials). */
  valueType: string;
  declare: string;
  /** Folds value `v` at the current position in. */
  update(v: string): string;
  /** Folds the partial `${acc}2` (and `${idx}2`) of another thread or lane in (WGSL). */
  combine: string;
  /** Whether a position is tracked (it must be exchanged with partials too). */
  tracked: boolean;
  /** Select reductions (max, min, argmax, argmin): whether value `v` replaces the accumulator. */
  beats?(v: string): string;
  /** The finished value, in dtype `out`. */
  result: string;
}

export interface ReductionNames {
  acc?: string;
  idx?: string;
  /** The position of the element `update` folds in (default: the row loop's `j`). */
  pos?: string;
}

/**
 * `op` over elements of dtype `t` (the op's math dtype), giving dtype `out`
 * (by default the op's). JS values are doubles: a float32 result is
 * rounded as eager's store rounds it, so what reads it sees float32.
 */
export function reductionStatements(
  lang: KernelLang,
  op: ReduceOp,
  t: DType,
  out: DType = REDUCTIONS[op].out(t),
  names: ReductionNames = {},
): ReductionStatements {
  const { acc = 'acc', idx = 'idx' } = names;
  const pos = names.pos ?? (lang === 'wgsl' ? 'i32(j)' : 'j');
  const spec = REDUCTIONS[op];
  const render = spec[lang];
  const step = (a: string, x: string) => render.step(a, x, t);
  // Plain max/min keep only the value: -inf stays -inf, and NaN wins by the step itself.
  const tracked = spec.index;
  const select = spec.mode === 'select';
  const [a2, i2] = [`${acc}2`, `${idx}2`];
  const declare =
    lang === 'wgsl'
      ? `var ${acc}: ${VALUE_TYPE[t]} = ${render.init(t)};${tracked ? ` var ${idx}: i32 = -1;` : ''}`
      : `let ${acc} = ${render.init(t)};${tracked ? ` let ${idx} = -1;` : ''}`;
  return {
    acc,
    idx,
    valueType: VALUE_TYPE[t],
    declare,
    update: (v) =>
      tracked
        ? `if (${idx} < 0 || ${step(acc, v)}) { ${acc} = ${v}; ${idx} = ${pos}; }`
        : select
          ? `if (${step(acc, v)}) { ${acc} = ${v}; }`
          : `${acc} = ${step(acc, v)};`,
    combine: tracked
      ? `if (${i2} >= 0 && (${idx} < 0 || ${step(acc, a2)} || (!${step(a2, acc)} && ${i2} < ${idx}))) { ${acc} = ${a2}; ${idx} = ${i2}; }`
      : select
        ? `if (${step(acc, a2)}) { ${acc} = ${a2}; }`
        : `${acc} = ${step(acc, a2)};`,
    tracked,
    beats: select ? (v) => step(acc, v) : undefined,
    result: tracked ? idx : lang === 'wgsl' ? convert(acc, t, out) : out === 'float32' ? `Math.fround(${acc})` : jsConvert(acc, t, out),
  };
}

/**
 * How rows are spread over threads. 'thread': one thread per row, looping
 * over the row (won on lavapipe, where a workgroup is one core's work
 * anyway). 'workgroup': one workgroup per row, threads striding over it and
 * combining in workgroup memory (needed when rows are few and long; the
 * usual winner on real GPUs).
 */
export type RowStrategy = 'thread' | 'workgroup';

/** Threads per workgroup under 'thread': each takes whole rows (grid-stride over rows). */
export const ROW_THREADS = 64;

/** Threads per workgroup under 'workgroup': they share one row and combine in a tree (a power of two). */
export const ROW_WORKGROUP_THREADS = 128;

/**
 * The strategy when the caller does not pick one: few long rows get a
 * workgroup each (one thread per row would leave most of the device idle),
 * everything else a thread per row.
 */
export function defaultRowStrategy(rows: number, rowLength: number): RowStrategy {
  const few = 64;
  const long = 256;
  return rows < few && rowLength >= long ? 'workgroup' : 'thread';
}

export const rowThreads = (strategy: RowStrategy) => (strategy === 'thread' ? ROW_THREADS : ROW_WORKGROUP_THREADS);

/** Workgroups to launch for `rows` rows (the kernels loop over rows, so any count covers them). */
export function rowGrid(strategy: RowStrategy, rows: number): number {
  return strategy === 'thread' ? gridFor(rows, ROW_THREADS) : Math.max(1, Math.min(rows, 65535));
}

/**
 * One reduction's pass over a row: `lines` compute the element at (`o`,
 * `j`), `value` is what is folded in. `online`: a sum of exp(value - max),
 * where this pass is the max and the sum's lines read this accumulator,
 * folded into this pass (online softmax: the sum is rescaled by
 * exp(old - new) whenever the max grows, so the row is read once for both).
 */
export interface RowPass {
  code: ReductionStatements;
  lines: readonly string[];
  value: string;
  online?: RowPass;
}

/**
 * A pass's accumulator declarations, the statements of its loop body and
 * those after the loop, in `lang`, for rows of `rowLength` (an expression).
 * The online sum skips terms while the max is -inf (only -inf seen so far:
 * exp(-inf - -inf) is NaN, where the two-pass form adds exp(-inf - m) = 0
 * for a later finite max m); a non-empty row of only -inf then gets the NaN
 * sum the two-pass form gives. NaN reaches the sum through the rescale.
 */
export function rowPassLines(lang: KernelLang, pass: RowPass, rowLength: string): { declare: string[]; body: string[]; after: string[] } {
  const { code, online } = pass;
  if (!online) return { declare: [code.declare], body: [...pass.lines, code.update(pass.value)], after: [] };
  const [m, s] = [code.acc, online.code.acc];
  const wgsl = lang === 'wgsl';
  return {
    declare: [code.declare, online.code.declare],
    body: [
      ...pass.lines,
      rescale(lang, pass, pass.value),
      ...online.lines,
      `if (${notNegInf(lang, m)}) { ${online.code.update(online.value)} }`,
    ],
    after: [
      `if (!(${notNegInf(lang, m)}) && ${rowLength} > ${wgsl ? '0u' : '0'}) { ${s} = ${wgsl ? literal(Number.NaN, 'float32') : 'NaN'}; }`,
    ],
  };
}

const expOf = (lang: KernelLang) => (lang === 'wgsl' ? 'exp' : 'Math.exp');
const notNegInf = (lang: KernelLang, m: string) =>
  lang === 'wgsl' ? `bitcast<u32>(${m}) != 0xff800000u` : `${m} !== Number.NEGATIVE_INFINITY`;

/** An online pass: when `v` beats the max, the sum so far is rescaled to it. */
function rescale(lang: KernelLang, { code, online }: RowPass, v: string): string {
  const [m, s] = [code.acc, online!.code.acc];
  return `if (${code.beats!(v)}) { ${s} = ${s} * ${expOf(lang)}(${m} - ${v}); ${m} = ${v}; }`;
}

/** The accumulators a pass updates, with their WGSL types: its own (and position), and its online sum's. */
const passAccumulators = (pass: RowPass): { name: string; type: string }[] =>
  [pass, ...(pass.online ? [pass.online] : [])].flatMap(({ code }) => [
    { name: code.acc, type: code.valueType },
    ...(code.tracked ? [{ name: code.idx, type: 'i32' }] : []),
  ]);

/**
 * WGSL folding another partial of the same pass into its accumulators: the
 * partial's are named `${name}2`. An online partial (max m2, sum s2 of
 * exp(x - m2)) is rescaled to the larger max like one element; one that saw
 * only -inf (sum 0) is skipped, as the pass skips those terms.
 */
function combinePartial(pass: RowPass): string {
  const { code, online } = pass;
  if (!online) return code.combine;
  const [m2, s2] = [`${code.acc}2`, `${online.code.acc}2`];
  return `${rescale('wgsl', pass, m2)} if (${notNegInf('wgsl', m2)}) { ${online.code.update(`${s2} * exp(${m2} - ${code.acc})`)} }`;
}

/**
 * A WGSL row kernel: for each row `o` (of `rows`), each reduction in turn
 * walks the row's positions `j` (of `rowLength`), so a later one may read an
 * earlier one's result; then `rowLines` (in every thread), the `rowStores`
 * (one thread per row), and `elementLines` once more per position (the
 * epilogue: softmax's normalized write, layerNorm's output).
 */
export interface RowsTemplate {
  strategy: RowStrategy;
  /** Everything before the entry point (prelude, bindings, helpers), given the body's text to find the helpers it calls. */
  header(body: string): string;
  /** u32 expressions (metadata words or literals). */
  rows: string;
  rowLength: string;
  reductions: readonly RowPass[];
  rowLines: readonly string[];
  rowStores: readonly string[];
  elementLines: readonly string[];
  /**
   * 'thread' strategy over rows of a multiple of 4: each loop step takes 4
   * positions (j = 4q + lane), the inputs read as vec4; `setup` (per row)
   * and `step` (per step, each line in the loops whose lanes use its `name`)
   * name what the lanes read, and the passes and element lines are given
   * once per lane. Each lane folds into its own accumulators (4 independent
   * chains), combined in lane order after the row. `write`: per step of the
   * element loop, declared before the lanes and stored after them (the
   * lanes' element writes gathered into vec4 stores).
   */
  lanes?: {
    setup: readonly string[];
    step: readonly { name: string; line: string }[];
    each: readonly { reductions: readonly RowPass[]; elementLines: readonly string[] }[];
    write?: { declare: readonly string[]; store: readonly string[] };
  };
}

const indent = (lines: readonly string[], n: number) => lines.map((l) => ' '.repeat(n) + l);

export function renderRowsWgsl(t: RowsTemplate): string {
  const perThread = t.strategy === 'thread';
  const threads = rowThreads(t.strategy);
  const lanes = perThread ? t.lanes : undefined;
  const jLoop = lanes
    ? `for (var q = 0u; q < ${t.rowLength} / ${lanes.each.length}u; q++)`
    : perThread
      ? `for (var j = 0u; j < ${t.rowLength}; j++)`
      : `for (var j = lid.x; j < ${t.rowLength}; j += ${threads}u)`;
  // The loop body: once per lane at its own j (lanes after the first on their own copies of `names`), or once.
  const overLanes = (
    one: readonly string[],
    perLane: (lane: NonNullable<typeof lanes>['each'][number]) => readonly string[],
    names: readonly string[] = [],
  ) => {
    if (!lanes) return one;
    const blocks = lanes.each.flatMap((lane, l) => {
      const own = perLane(lane);
      const body = l === 0 ? own : [...names.map((a) => `var ${a} = ${a}_${l};`), ...own, ...names.map((a) => `${a}_${l} = ${a};`)];
      return ['{', `  let j = q * ${lanes.each.length}u + ${l}u;`, ...indent(body, 2), '}'];
    });
    const text = blocks.join('\n');
    return [...lanes.step.filter(({ name }) => new RegExp(`\\b${name}\\b`).test(text)).map(({ line }) => line), ...blocks];
  };
  const parts: string[] = [...(lanes?.setup ?? [])];
  for (const [n, r] of t.reductions.entries()) {
    const { declare, body, after } = rowPassLines('wgsl', r, t.rowLength);
    const names = passAccumulators(r).map(({ name }) => name);
    // Lanes after the first start from copies of the initial accumulators and are folded in, in order, after the row.
    const copies = lanes ? lanes.each.slice(1).flatMap((_, i) => names.map((a) => `var ${a}_${i + 1} = ${a};`)) : [];
    const fold = (from: (a: string) => string) => `${names.map((a) => `let ${a}2 = ${from(a)};`).join(' ')} ${combinePartial(r)}`;
    const combined = lanes ? lanes.each.slice(1).map((_, i) => `{ ${fold((a) => `${a}_${i + 1}`)} }`) : [];
    const laneBody = overLanes(body, (lane) => rowPassLines('wgsl', lane.reductions[n]!, t.rowLength).body, names);
    parts.push(...declare, ...copies, `${jLoop} {`, ...indent(laneBody, 2), '}', ...combined);
    if (!perThread) {
      // Each thread's partial into workgroup memory, then halve the active threads, each folding in its partner's.
      const save = names.map((a) => `${a}_part[lid.x] = ${a};`).join(' ');
      parts.push(
        save,
        'workgroupBarrier();',
        `for (var width = ${threads / 2}u; width > 0u; width = width / 2u) {`,
        '  if (lid.x < width) {',
        `    ${fold((a) => `${a}_part[lid.x + width]`)}`,
        `    ${save}`,
        '  }',
        '  workgroupBarrier();',
        '}',
        // Every thread takes the result (later reductions and the epilogue read it); the barrier keeps part[0] until all have.
        names.map((a) => `${a} = ${a}_part[0];`).join(' '),
        'workgroupBarrier();',
      );
    }
    parts.push(...after);
  }
  parts.push(...t.rowLines, ...(perThread ? t.rowStores : t.rowStores.map((w) => `if (lid.x == 0u) { ${w} }`)));
  if (t.elementLines.length > 0)
    parts.push(
      `${jLoop} {`,
      ...indent(
        [...(lanes?.write?.declare ?? []), ...overLanes(t.elementLines, (lane) => lane.elementLines), ...(lanes?.write?.store ?? [])],
        2,
      ),
      '}',
    );
  const shared = t.reductions.flatMap((r) =>
    passAccumulators(r).map(({ name, type }) => `var<workgroup> ${name}_part: array<${type}, ${threads}>;`),
  );
  const init = [OPAQUE_ZERO_INIT, ...keepMasks(parts.join('\n'))].map((l) => `  ${l}`);
  const entry = perThread
    ? [
        `@compute @workgroup_size(${threads})`,
        'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
        ...init,
        '  _ = info(0u); // the metadata stays bound even when this kernel needs none',
        `  for (var o = gid.x; o < ${t.rows}; o += nwg.x * ${threads}u) {`,
      ]
    : [
        ...shared,
        `@compute @workgroup_size(${threads})`,
        'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
        ...init,
        '  _ = info(0u); // the metadata stays bound even when this kernel needs none',
        `  for (var o = wid.x; o < ${t.rows}; o += nwg.x) {`,
      ];
  return `${t.header(parts.join('\n')).trimEnd()}
${entry.join('\n')}
${indent(parts, 4).join('\n')}
  }
}
`;
}
