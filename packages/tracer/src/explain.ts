/**
 * The explain report: what compiling a function produced — its graphs (ops
 * and kernels), its graph breaks (reason, location, code frame), the guards
 * of its cache entry, whether cache hits replay the graph or re-run the
 * JavaScript and why, and the time spent compiling — as data and as text a
 * person reads.
 */
import type { KernelInfo } from './backend';
import type { GraphBreak } from './breaks';
import type { Entry, EntryMode } from './cache';
import type { SegmentRun } from './capture';
import type { ExplainNode } from './graph-nodes';
import { describeNodes } from './graph-nodes';
import { reportToHTML } from './report-html';

export interface BreakReason {
  readonly reason: string;
  /** file:line:column of the user's code, when known. */
  readonly location: string | null;
  readonly codeFrame: string | null;
}

export interface ExplainGraph {
  /** Op names, in graph order. */
  readonly ops: readonly string[];
  /** What the backend made of it (the inductor's kernels; empty for other backends). */
  readonly kernels: readonly KernelInfo[];
  /** The graph, printed. */
  readonly graph: string;
  /** The graph's nodes as data (what the HTML report draws). */
  readonly nodes: readonly ExplainNode[];
  /** Time the backend took to compile it. */
  readonly compileMs: number;
  /** Set when the backend could not compile it and it runs op by op. */
  readonly note?: string;
}

export interface ExplainReport {
  readonly name: string;
  readonly graphCount: number;
  readonly graphBreakCount: number;
  readonly breakReasons: readonly BreakReason[];
  /** Op nodes over all graphs. */
  readonly opCount: number;
  /** The guards of the cache entry, as text. */
  readonly guards: readonly string[];
  /** What a cache hit does: replay the graph without the JavaScript, re-run the JavaScript with lazy tensors, or (past cacheSizeLimit graph variants) run `fn` eagerly. */
  readonly mode: EntryMode;
  /** Why that mode. */
  readonly modeReason: string;
  readonly graphs: readonly ExplainGraph[];
  /** Time spent in the backend compiling these graphs. */
  readonly compileMs: number;
  /** Recompiles so far, with the guard that failed. */
  readonly recompiles: readonly string[];
  toString(): string;
  /** The report as one self-contained HTML page: each graph drawn by kernel, breaks, guards, recompiles, kernel sources, timings. */
  toHTML(): string;
}

/** What one traced call left behind. */
export interface TraceRecord {
  readonly breaks: readonly GraphBreak[];
  readonly runs: readonly SegmentRun[];
  readonly entry: Entry;
}

/** `replayReason`: why a replaying entry may replay, when there is more to say than the default (closures guarded by the load-time transform). */
export function makeReport(name: string, trace: TraceRecord | null, recompiles: readonly string[], replayReason?: string): ExplainReport {
  const graphs: ExplainGraph[] = (trace?.runs ?? []).map((r) => ({
    ops: r.segment.ops,
    kernels: r.segment.kernels,
    graph: r.segment.graph.toString(),
    ...(r.segment.note ? { note: r.segment.note } : {}),
    nodes: describeNodes(r.segment.graph),
    compileMs: r.segment.compileMs,
  }));
  const entry = trace?.entry;
  const report: Omit<ExplainReport, 'toString' | 'toHTML'> = {
    name,
    graphCount: graphs.length,
    graphBreakCount: trace?.breaks.length ?? 0,
    breakReasons: (trace?.breaks ?? []).map((b) => ({ reason: b.reason, location: b.location, codeFrame: b.codeFrame })),
    opCount: graphs.reduce((n, g) => n + g.ops.length, 0),
    guards: entry?.guards.texts ?? [],
    mode: entry?.mode ?? 're-run',
    modeReason: !entry
      ? 'not called yet'
      : entry.mode === 'replay'
        ? (replayReason ?? 'no graph break, no side effect and no free variable: a cache hit runs the graph without the JavaScript')
        : entry.modeReasons.join('; '),
    graphs,
    compileMs: (trace?.runs ?? []).reduce((ms, r) => ms + (r.fresh ? r.segment.compileMs : 0), 0),
    recompiles,
  };
  return { ...report, toString: () => formatReport(report), toHTML: () => reportToHTML(report) };
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatReport(r: Omit<ExplainReport, 'toString' | 'toHTML'>): string {
  const out: string[] = [];
  out.push(`kiln explain: ${r.name || '<anonymous>'}`);
  out.push(
    `  ${plural(r.graphCount, 'graph')}, ${plural(r.graphBreakCount, 'graph break')}, ${plural(r.opCount, 'op')}; compiled in ${r.compileMs.toFixed(1)} ms`,
  );
  out.push(`  mode: ${r.mode} (${r.modeReason})`);
  r.graphs.forEach((g, i) => {
    out.push('');
    out.push(`  graph ${i + 1}: ${plural(g.ops.length, 'op')} (${g.ops.join(', ')})`);
    out.push(indent(g.graph, '    '));
    if (g.note) out.push(`    note: ${g.note}`);
    if (g.kernels.length > 0) {
      out.push(`    ${plural(g.kernels.length, 'kernel')}:`);
      for (const k of g.kernels) out.push(`      ${k.name}: ${k.fusedOps.join(', ')}`);
    }
  });
  if (r.breakReasons.length > 0) {
    out.push('');
    out.push('  graph breaks:');
    r.breakReasons.forEach((b, i) => {
      out.push(`    ${i + 1}. ${b.reason}${b.location ? `\n       at ${b.location}` : ''}`);
      if (b.codeFrame) out.push(indent(b.codeFrame, '       '));
    });
  }
  out.push('');
  out.push(`  guards (${r.guards.length}):`);
  for (const g of r.guards) out.push(`    ${g}`);
  if (r.recompiles.length > 0) {
    out.push('');
    out.push('  recompiles:');
    for (const rc of r.recompiles) out.push(`    ${rc}`);
  }
  return out.join('\n');
}
