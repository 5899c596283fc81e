/**
 * The explain report of a traced call (./explain-report), made from what
 * the call left behind, and its text a person reads; `toHTML()` gives the
 * page of ./report-html.
 */

import type { KernelInfo, TracedGraph } from '../backend';
import type { Entry } from '../cache/entry';
import type { GraphBreak } from '../capture/breaks';
import type { CompiledSegment } from '../capture/graph-cache';
import type { ExplainEntry, ExplainGraph, ExplainReport, ReportData } from './explain-report';
import { reportToHTML } from './report-html';
import { plural, trainingSummary } from './report-text';
import { showGraph } from './symbolic-graph';

/** What one traced call left behind that reports show, and the entry it traced for. */
export interface TraceRecord {
  readonly entry: Entry;
  readonly breaks: readonly GraphBreak[];
  /** The graphs it ran, in order. */
  readonly segments: readonly CompiledSegment[];
  /** By graph: the in-place writes into the caller's memory it computed (see SegmentRun.writes). */
  readonly writes: readonly (readonly string[])[];
}

function graphOf(s: CompiledSegment, writes: readonly string[] = []): ExplainGraph {
  const t = s.training;
  // For training, the graph shown is the forward the partitioner made (what runs, and what its kernels' nodes refer to).
  const shown = graphReport(t?.forward.graph ?? s.graph, s, writes);
  if (!t) return shown;
  return { ...shown, training: { backward: graphReport(t.backward.graph, { ...t.backward, compileMs: 0 }, []), ...t.report } };
}

/** The report of `graph`, compiled into `compiled`'s kernels. */
function graphReport(
  graph: TracedGraph,
  compiled: {
    readonly kernels: readonly KernelInfo[];
    readonly decisions?: readonly string[];
    readonly note?: string;
    readonly traceMs?: number;
    readonly compileMs: number;
    readonly stages?: string;
    readonly target?: string;
  },
  writes: readonly string[],
): ExplainGraph {
  const shown = showGraph(graph);
  return {
    ops: graph.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : [])),
    kernels: compiled.kernels,
    graph: shown.listing,
    ...(compiled.note ? { note: compiled.note } : {}),
    decisions: compiled.decisions ?? [],
    writes,
    symbols: graph.symbols(),
    nodes: shown.nodes,
    ...(compiled.traceMs !== undefined ? { traceMs: compiled.traceMs } : {}),
    compileMs: compiled.compileMs,
    ...(compiled.stages ? { compileStages: compiled.stages } : {}),
    ...(compiled.target ? { target: compiled.target } : {}),
  };
}

/**
 * The report of a compiled function: `trace`, the last call traced (the
 * top-level fields), and `entries`, the first call of each cache entry;
 * `modeReason` says why an entry replays or re-runs.
 */
export function makeReport(
  name: string,
  trace: TraceRecord | null,
  entries: readonly TraceRecord[],
  recompiles: readonly string[],
  modeReason: (entry: Entry) => string,
): ExplainReport {
  const graphs = (trace?.segments ?? []).map((s, i) => graphOf(s, trace?.writes[i]));
  const entry = trace?.entry;
  // Each graph counted once: entries share the graphs of the same structure.
  const compiled = new Set<CompiledSegment>([...entries.flatMap((e) => e.segments), ...(trace?.segments ?? [])]);
  const sum = (ss: Iterable<CompiledSegment>) => [...ss].reduce((ms, s) => ms + s.compileMs, 0);
  const report: ReportData = {
    name,
    graphCount: graphs.length,
    graphBreakCount: trace?.breaks.length ?? 0,
    breakReasons: (trace?.breaks ?? []).map(breakReason),
    opCount: graphs.reduce((n, g) => n + g.ops.length, 0),
    guards: entry?.guards.texts ?? [],
    mode: entry?.mode ?? 're-run',
    modeReason: entry ? modeReason(entry) : 'not called yet',
    graphs,
    compileMs: sum(compiled),
    recompiles,
    entries: entries.map(
      (e): ExplainEntry => ({
        mode: e.entry.mode,
        modeReason: modeReason(e.entry),
        guards: e.entry.guards.texts,
        graphs: e.segments.map((s, i) => graphOf(s, e.writes[i])),
        breakReasons: e.breaks.map(breakReason),
        compileMs: sum(new Set(e.segments)),
      }),
    ),
  };
  return { ...report, toString: () => formatReport(report), toHTML: () => reportToHTML(report) };
}

function breakReason(b: GraphBreak): ExplainReport['breakReasons'][number] {
  return { reason: b.reason, location: b.location, codeFrame: b.codeFrame };
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/** Decisions printed per graph in the text report (all of them are in the data and the HTML report). */
const SHOWN_DECISIONS = 30;

/** A graph's compile stages, listing, symbols, writes, kernels and fusion decisions (`where` says where the rest of the decisions are). */
function formatGraph(out: string[], g: ExplainGraph, where: string): void {
  const traced = g.traceMs !== undefined ? `traced in ${g.traceMs.toFixed(1)} ms, ` : '';
  if (g.compileStages) out.push(`    ${traced}compiled in ${g.compileMs.toFixed(1)} ms: ${g.compileStages}`);
  out.push(indent(g.graph, '    '));
  if (g.note) out.push(`    note: ${g.note}`);
  if (g.symbols.length > 0) out.push(`    symbolic sizes (one graph for every size): ${g.symbols.join(', ')}`);
  if (g.writes.length > 0) out.push(`    in-place writes captured (functionalized, written back after the graph): ${g.writes.join('; ')}`);
  if (g.kernels.length > 0) {
    out.push(`    ${plural(g.kernels.length, 'kernel')}${g.target ? ` on ${g.target}` : ''}:`);
    for (const k of g.kernels) {
      const fallback = k.fallback ? ` (on ${k.fallback.target}: ${k.fallback.reason})` : '';
      out.push(`      ${k.name}: ${k.fusedOps.join(', ')}${fallback}${k.autotune ? `\n        ${k.autotune}` : ''}`);
    }
  }
  if (g.decisions.length > 0) {
    out.push('    fusion decisions (why each kernel is what it is):');
    for (const d of g.decisions.slice(0, SHOWN_DECISIONS)) out.push(`      ${d}`);
    if (g.decisions.length > SHOWN_DECISIONS)
      out.push(`      ... ${g.decisions.length - SHOWN_DECISIONS} more (${where}.decisions, the HTML report)`);
  }
}

export function formatReport(r: ReportData): string {
  const out: string[] = [];
  out.push(`kiln explain: ${r.name || '<anonymous>'}`);
  out.push(
    `  ${plural(r.graphCount, 'graph')}, ${plural(r.graphBreakCount, 'graph break')}, ${plural(r.opCount, 'op')}; compiled in ${r.compileMs.toFixed(1)} ms`,
  );
  out.push(`  mode: ${r.mode} (${r.modeReason})`);
  r.graphs.forEach((g, i) => {
    out.push('');
    const t = g.training;
    out.push(`  graph ${i + 1}${t ? ' (compiled for training; its forward)' : ''}: ${plural(g.ops.length, 'op')} (${g.ops.join(', ')})`);
    formatGraph(out, g, `report.graphs[${i}]`);
    if (t) {
      out.push(`    partitioner (saves what is expensive, computes cheap values again; min cut by bytes):`);
      for (const line of trainingSummary(t)) out.push(`      ${line}`);
      out.push(`  graph ${i + 1} backward: ${plural(t.backward.ops.length, 'op')} (${t.backward.ops.join(', ')})`);
      formatGraph(out, t.backward, `report.graphs[${i}].training.backward`);
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
  if (r.entries.length > 1) {
    out.push('');
    out.push(`  cache entries (${r.entries.length}):`);
    r.entries.forEach((e, i) => {
      const ops = e.graphs.map((g) => g.ops.length);
      out.push(
        `    entry ${i + 1}: ${e.mode}, ${plural(e.graphs.length, 'graph')} (${plural(
          ops.reduce((a, b) => a + b, 0),
          'op',
        )})`,
      );
      out.push(`      guards: ${e.guards.join(', ')}`);
    });
  }
  return out.join('\n');
}
