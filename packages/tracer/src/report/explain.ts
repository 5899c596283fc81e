/**
 * The explain report of a traced call (./explain-report), made from what
 * the call left behind, and its text a person reads; `toHTML()` gives the
 * page of ./report-html.
 */

import type { Entry } from '../cache/entry';
import type { TracedCall } from '../capture/recorder';
import type { ExplainGraph, ExplainReport, ReportData } from './explain-report';
import { describeNodes } from './graph-nodes';
import { reportToHTML } from './report-html';

/** What one traced call left behind, and the entry it traced for. */
export interface TraceRecord extends TracedCall {
  readonly entry: Entry;
}

/** `replayReason`: why a replaying entry may replay, when there is more to say than the default (closures guarded by the load-time transform). */
export function makeReport(name: string, trace: TraceRecord | null, recompiles: readonly string[], replayReason?: string): ExplainReport {
  const graphs: ExplainGraph[] = (trace?.runs ?? []).map((r) => ({
    ops: r.segment.ops,
    kernels: r.segment.kernels,
    graph: r.segment.graph.toString(),
    ...(r.segment.note ? { note: r.segment.note } : {}),
    decisions: r.segment.decisions ?? [],
    writes: r.writes ?? [],
    symbols: r.segment.graph.symbols(),
    nodes: describeNodes(r.segment.graph),
    compileMs: r.segment.compileMs,
  }));
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

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Decisions printed per graph in the text report (all of them are in the data and the HTML report). */
const SHOWN_DECISIONS = 30;

export function formatReport(r: ReportData): string {
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
    if (g.symbols.length > 0) out.push(`    symbolic sizes (one graph for every size): ${g.symbols.join(', ')}`);
    if (g.writes.length > 0)
      out.push(`    in-place writes captured (functionalized, written back after the graph): ${g.writes.join('; ')}`);
    if (g.kernels.length > 0) {
      out.push(`    ${plural(g.kernels.length, 'kernel')}:`);
      for (const k of g.kernels) out.push(`      ${k.name}: ${k.fusedOps.join(', ')}`);
    }
    if (g.decisions.length > 0) {
      out.push('    fusion decisions (why each kernel is what it is):');
      for (const d of g.decisions.slice(0, SHOWN_DECISIONS)) out.push(`      ${d}`);
      if (g.decisions.length > SHOWN_DECISIONS)
        out.push(`      ... ${g.decisions.length - SHOWN_DECISIONS} more (report.graphs[${i}].decisions, the HTML report)`);
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
