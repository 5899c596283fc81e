/**
 * The explain report of a traced call (./explain-report), made from what
 * the call left behind, and its text a person reads; `toHTML()` gives the
 * page of ./report-html.
 */

import type { Graph } from '@kiln/eager';
import type { KernelInfo } from '../backend';
import type { Entry } from '../cache/entry';
import type { TracedCall } from '../capture/recorder';
import type { ExplainGraph, ExplainReport, ReportData } from './explain-report';
import { describeNodes } from './graph-nodes';
import { reportToHTML } from './report-html';
import { plural, trainingSummary } from './report-text';

/** What one traced call left behind, and the entry it traced for. */
export interface TraceRecord extends TracedCall {
  readonly entry: Entry;
}

/** `replayReason`: why a replaying entry may replay, when there is more to say than the default (closures guarded by the load-time transform). */
export function makeReport(name: string, trace: TraceRecord | null, recompiles: readonly string[], replayReason?: string): ExplainReport {
  const graphs: ExplainGraph[] = (trace?.runs ?? []).map(({ segment: s }) => {
    const t = s.training;
    // For training, the graph shown is the forward the partitioner made (what runs, and what its kernels' nodes refer to).
    const forward = t?.forward.graph ?? s.graph;
    return {
      ...graphReport(forward, s.kernels, s.decisions, s.note, s.compileMs),
      ...(t
        ? {
            training: {
              backward: graphReport(t.backward.graph, t.backward.kernels, t.backward.decisions, t.backward.note, 0),
              ...t.report,
            },
          }
        : {}),
    };
  });
  const entry = trace?.entry;
  const report: ReportData = {
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

function graphReport(
  graph: Graph,
  kernels: readonly KernelInfo[],
  decisions: readonly string[] | undefined,
  note: string | undefined,
  compileMs: number,
): ExplainGraph {
  return {
    ops: graph.nodes.flatMap((n) => (n.op === 'call' ? [n.target] : [])),
    kernels,
    graph: graph.toString(),
    ...(note ? { note } : {}),
    decisions: decisions ?? [],
    nodes: describeNodes(graph),
    compileMs,
  };
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/** Decisions printed per graph in the text report (all of them are in the data and the HTML report). */
const SHOWN_DECISIONS = 30;

/** A graph's listing, kernels and fusion decisions (`where` says where the rest of the decisions are). */
function formatGraph(out: string[], g: ExplainGraph, where: string): void {
  out.push(indent(g.graph, '    '));
  if (g.note) out.push(`    note: ${g.note}`);
  if (g.kernels.length > 0) {
    out.push(`    ${plural(g.kernels.length, 'kernel')}:`);
    for (const k of g.kernels) out.push(`      ${k.name}: ${k.fusedOps.join(', ')}`);
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
  return out.join('\n');
}
