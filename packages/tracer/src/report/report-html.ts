/**
 * The explain report as one self-contained HTML page (`report.toHTML()`,
 * and the files `KILN_REPORT=dir` writes): a summary with the mode and why,
 * each graph drawn as inline SVG with its nodes colored by the kernel they
 * were fused into (externs hatched in red, inputs and outputs plain), the
 * graph breaks with their locations and code frames, the guards, the
 * recompiles with the guard that failed, every kernel with its WGSL or
 * JavaScript source, and the timings. After recompiles, every cache entry
 * is shown (its mode, guards and graphs, dynamic sizes as symbols). No
 * script, font or stylesheet is fetched: the file opens anywhere, offline.
 */
import type { KernelInfo } from '../backend';
import type { CompileStats } from '../cache/stats';
import type { ExplainGraph, ExplainTraining, ReportData } from './explain-report';
import type { Box } from './graph-layout';
import { layoutGraph } from './graph-layout';
import type { ExplainNode } from './graph-nodes';
import { bytesText, plural, trainingSummary } from './report-text';

export interface HTMLOptions {
  /** The compiled function's counters, when the page is written for a compiled function (KILN_REPORT). */
  readonly stats?: CompileStats;
}

/** Distinct fills for kernels (light, so labels stay readable), and their outlines. */
const PALETTE: readonly [string, string][] = [
  ['#cfe3ff', '#3f7fd9'],
  ['#ffe0b8', '#d9822b'],
  ['#d4f2d0', '#3f9c35'],
  ['#f4d3f0', '#b54aa6'],
  ['#fff3b0', '#b59a00'],
  ['#cdeff0', '#1f9aa0'],
  ['#ffd6d1', '#d2543f'],
  ['#e2dcff', '#6e5ad6'],
  ['#e8f0c8', '#7d9a1e'],
  ['#ffd9ec', '#c7408a'],
  ['#d9e4ec', '#567189'],
  ['#f0e0cc', '#9a6b32'],
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 1)} ms`;
}

function language(source: string): string {
  return /@compute|@workgroup_size|var<storage/.test(source) ? 'WGSL' : 'JavaScript';
}

/** Kernel index -> the graph's nodes it computes, and each node's kernels. */
function kernelsByNode(g: ExplainGraph): Map<number, number[]> {
  const out = new Map<number, number[]>();
  g.kernels.forEach((k, i) => {
    for (const id of k.graphNodes ?? []) (out.get(id) ?? out.set(id, []).get(id)!).push(i);
  });
  return out;
}

function colorOf(k: number): [string, string] {
  return PALETTE[k % PALETTE.length]!;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function drawNode(n: ExplainNode, box: Box, kernels: readonly number[], g: ExplainGraph, gi: string): string {
  const extern = kernels.some((k) => g.kernels[k]!.kind === 'extern');
  let fill = '#ffffff';
  let stroke = '#8a94a6';
  let dash = '';
  let cls = `node node-${n.op}`;
  if (n.op === 'output') {
    fill = '#2d3340';
    stroke = '#2d3340';
  } else if (n.op === 'call' && extern) {
    fill = `url(#hatch-${gi})`;
    stroke = '#c62828';
    dash = ' stroke-dasharray="5 3"';
    cls += ' extern';
  } else if (n.op === 'call' && kernels.length === 1) {
    [fill, stroke] = colorOf(kernels[0]!);
  } else if (n.op === 'call' && kernels.length > 1) {
    fill = `url(#split-${gi}-${n.id})`;
    stroke = colorOf(kernels[0]!)[1];
  } else if (n.op === 'call') {
    stroke = '#9aa3b2';
    dash = ' stroke-dasharray="3 3"';
    cls += ' unfused';
  }
  const kernelNames = kernels.map((k) => g.kernels[k]!.name);
  const title = [
    `%${n.id} ${n.label}${n.detail ? `(${n.detail})` : ''}${n.type ? ` : ${n.type}` : ''}`,
    n.op === 'call'
      ? kernelNames.length > 0
        ? `kernel: ${kernelNames.join(', ')}${extern ? ' (extern: runs its eager kernel)' : ''}`
        : 'in no kernel (a view folded into index math, or no-op)'
      : '',
  ]
    .filter(Boolean)
    .join('\n');
  const rx = n.op === 'placeholder' || n.op === 'output' ? box.height / 2 : 6;
  const text = n.op === 'output' ? '#ffffff' : '#1d2330';
  const label = n.op === 'call' && extern ? `${n.label} · extern` : n.label;
  const cx = box.x + box.width / 2;
  const defs =
    n.op === 'call' && kernels.length > 1
      ? `<linearGradient id="split-${gi}-${n.id}">${kernels
          .map((k, i) => {
            const c = colorOf(k)[0];
            return `<stop offset="${(i / kernels.length) * 100}%" stop-color="${c}"/><stop offset="${((i + 1) / kernels.length) * 100}%" stop-color="${c}"/>`;
          })
          .join('')}</linearGradient>`
      : '';
  return (
    `${defs ? `<defs>${defs}</defs>` : ''}<g class="${cls}" data-id="${n.id}" data-op="${esc(n.label)}" data-kernels="${esc(kernelNames.join(' '))}">` +
    `<title>${esc(title)}</title>` +
    `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="${rx}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"${dash}/>` +
    `<text x="${cx}" y="${box.y + 17}" text-anchor="middle" class="op" fill="${text}">${esc(truncate(label, 20))}</text>` +
    (n.type
      ? `<text x="${cx}" y="${box.y + 31}" text-anchor="middle" class="type" fill="${text}">${esc(truncate(n.type, 24))}</text>`
      : '') +
    '</g>'
  );
}

/** Graph `g` drawn by kernel; `gi` makes its SVG ids unique in the page, `label` names it. */
function drawGraph(g: ExplainGraph, gi: string, label: string): string {
  if (g.nodes.length === 0) return '<p class="muted">(no nodes)</p>';
  const layout = layoutGraph(g.nodes);
  const byNode = kernelsByNode(g);
  const edges = layout.edges.map(({ points }) => {
    // Curves between layers, straight through each waypoint; the arrow stops just above the target.
    let d = `M${points[0]!.x} ${points[0]!.y}`;
    for (let k = 0; k + 1 < points.length; k++) {
      const p = points[k]!;
      const q = points[k + 1]!;
      const end = k + 2 === points.length ? q.y - 3 : q.y;
      if (k % 2 === 1) d += ` L${q.x} ${end}`;
      else {
        const bend = (q.y - p.y) / 2;
        d += ` C${p.x} ${p.y + bend} ${q.x} ${q.y - bend} ${q.x} ${end}`;
      }
    }
    return `<path class="edge" d="${d}" marker-end="url(#arrow-${gi})"/>`;
  });
  const nodes = g.nodes.map((n) => drawNode(n, layout.boxes.get(n.id)!, byNode.get(n.id) ?? [], g, gi));
  return (
    `<div class="graph-scroll"><svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" ` +
    `viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${esc(label)}: ${g.nodes.length} nodes">` +
    `<defs><marker id="arrow-${gi}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    '<path d="M0 0 L8 4 L0 8 z" fill="#8a94a6"/></marker>' +
    `<pattern id="hatch-${gi}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
    '<rect width="8" height="8" fill="#ffecec"/><line x1="0" y1="0" x2="0" y2="8" stroke="#f2a3a3" stroke-width="4"/></pattern></defs>' +
    `<g class="edges">${edges.join('')}</g><g class="nodes">${nodes.join('')}</g></svg></div>`
  );
}

function legend(kernels: readonly KernelInfo[]): string {
  if (kernels.length === 0) return '<p class="muted">This backend reports no kernels: nodes are not colored.</p>';
  const items = kernels.map((k, i) => {
    const [fill, stroke] = colorOf(i);
    const swatch =
      k.kind === 'extern'
        ? '<span class="swatch extern-swatch"></span>'
        : `<span class="swatch" style="background:${fill};border-color:${stroke}"></span>`;
    return `<li>${swatch}<code>${esc(k.name)}</code>${k.kind ? ` <span class="kind kind-${k.kind}">${k.kind}</span>` : ''}</li>`;
  });
  return `<ul class="legend">${items.join('')}<li><span class="swatch unfused-swatch"></span>in no kernel</li></ul>`;
}

/** A graph's card: `title` (`Graph 2`), `id` (the page anchor), `gi` (unique on the page: the SVG's own ids). */
function graphSection(g: ExplainGraph, title: string, id: string, gi: number): string {
  const kernels = g.kernels.length;
  const t = g.training;
  return (
    `<section class="card graph-card" id="${id}"><h3>${title}${t ? ': forward (compiled for training)' : ''}</h3>` +
    `<p class="meta">${plural(g.ops.length, 'op')} → ${plural(kernels, 'kernel')} · compiled in ${ms(g.compileMs)}</p>` +
    (g.note ? `<p class="note">${esc(g.note)}</p>` : '') +
    (g.symbols.length > 0 ? `<p class="meta">Symbolic sizes (one graph for every size): ${esc(g.symbols.join(', '))}</p>` : '') +
    (g.writes.length > 0
      ? `<p class="meta">In-place writes captured (functionalized, written back after the graph): ${esc(g.writes.join('; '))}</p>`
      : '') +
    legend(g.kernels) +
    drawGraph(g, String(gi), title) +
    `<details><summary>Graph listing</summary><pre>${esc(g.graph)}</pre></details>` +
    decisionList(g) +
    (t ? trainingSection(t, title, id, gi) : '') +
    '</section>'
  );
}

/** A graph compiled for training: what the partitioner saved and recomputed, and the backward graph by kernel. */
function trainingSection(t: ExplainTraining, title: string, id: string, gi: number): string {
  const b = t.backward;
  const saved = t.saved.map(
    (v) => `<tr><td><code>${esc(v.op)}</code></td><td><code>${esc(v.type)}</code></td><td class="num">${bytesText(v.bytes)}</td></tr>`,
  );
  return (
    `<div class="training" id="${id}-backward"><h3>${title}: backward</h3>` +
    `<ul class="partition">${trainingSummary(t)
      .map((line) => `<li>${esc(line)}</li>`)
      .join('')}</ul>` +
    (saved.length > 0
      ? `<details><summary>Saved for the backward (${t.saved.length}, ${bytesText(t.savedBytes)})</summary><table class="saved"><tr><th>made by</th><th>type</th><th>bytes</th></tr>${saved.join('')}</table></details>`
      : '') +
    `<p class="meta">${plural(b.ops.length, 'op')} → ${plural(b.kernels.length, 'kernel')}</p>` +
    (b.note ? `<p class="note">${esc(b.note)}</p>` : '') +
    legend(b.kernels) +
    drawGraph(b, `${gi}-backward`, `${title} backward`) +
    `<details><summary>Backward graph listing</summary><pre>${esc(b.graph)}</pre></details>` +
    decisionList(b) +
    '</div>'
  );
}

/** The fusion decisions, made and given up: why each kernel is what it is. */
function decisionList(g: ExplainGraph): string {
  if (g.decisions.length === 0) return '';
  const items = g.decisions.map(
    (d) => `<li class="${d.startsWith('not fused') ? 'not-fused' : d.startsWith('realize') ? 'realize' : 'fuse'}">${esc(d)}</li>`,
  );
  return `<details class="decisions"><summary>Fusion decisions (${g.decisions.length}): why each kernel is what it is</summary><ul>${items.join('')}</ul></details>`;
}

/** A graph's kernels, then its backward's when it was compiled for training. */
function kernelSection(g: ExplainGraph, title: string): string {
  const backward = g.training ? kernelCards(g.training.backward, `${title} backward`) : '';
  return kernelCards(g, `${title}${g.training ? ' forward' : ''}`) + backward;
}

function kernelCards(g: ExplainGraph, title: string): string {
  if (g.kernels.length === 0) return '';
  const cards = g.kernels.map((k, j) => {
    const [fill, stroke] = colorOf(j);
    const border = k.kind === 'extern' ? '#c62828' : stroke;
    return (
      `<article class="kernel" style="border-left-color:${border}"><header><span class="swatch" style="background:${k.kind === 'extern' ? '#ffecec' : fill};border-color:${border}"></span>` +
      `<code class="kname">${esc(k.name)}</code>${k.kind ? ` <span class="kind kind-${k.kind}">${k.kind}</span>` : ''}` +
      ` <span class="fused">${esc(k.fusedOps.join(' → '))}</span></header>` +
      (k.autotune ? `<p class="muted">${esc(k.autotune)}</p>` : '') +
      `<details><summary>${language(k.source)} source (${plural(k.source.split('\n').length, 'line')})</summary><pre><code>${esc(k.source)}</code></pre></details></article>`
    );
  });
  return `<h3>${title}</h3>${cards.join('')}`;
}

function guardList(guards: readonly string[]): string {
  return guards.length === 0
    ? '<p class="muted">None.</p>'
    : `<ul class="guards">${guards.map((g) => `<li><code>${esc(g)}</code></li>`).join('')}</ul>`;
}

function breakList(breaks: ReportData['breakReasons']): string {
  return breaks.length === 0
    ? '<p class="muted">None: the function was captured whole.</p>'
    : `<ol class="breaks">${breaks
        .map(
          (b) =>
            `<li><p class="reason">${esc(b.reason)}</p>${b.location ? `<p class="loc">at <code>${esc(b.location)}</code></p>` : ''}` +
            `${b.codeFrame ? `<pre class="frame">${esc(b.codeFrame)}</pre>` : ''}</li>`,
        )
        .join('')}</ol>`;
}

/** The graphs, guards, breaks, kernels and timing rows of the page: the last call traced, or (after recompiles) every cache entry. */
function body(r: ReportData): { graphs: string; guards: string; breaks: string; kernels: string; timings: string } {
  const row = (label: string, g: ExplainGraph) =>
    `<tr><td>${label}</td><td class="num">${g.ops.length}</td><td class="num">${g.kernels.length}</td><td class="num">${ms(g.compileMs)}</td></tr>`;
  if (r.entries.length <= 1) {
    return {
      graphs:
        r.graphs.map((g, i) => graphSection(g, `Graph ${i + 1}`, `graph-${i + 1}`, i)).join('\n') ||
        '<p class="muted">No graph was captured yet.</p>',
      guards: `<h2 id="guards">Guards (${r.guards.length})</h2>\n${guardList(r.guards)}`,
      breaks: `<h2 id="breaks">Graph breaks (${r.breakReasons.length})</h2>\n${breakList(r.breakReasons)}`,
      kernels: r.graphs.map((g, i) => kernelSection(g, `Graph ${i + 1}`)).join(''),
      timings: r.graphs.map((g, i) => row(`graph ${i + 1}`, g)).join(''),
    };
  }
  let gi = 0;
  const graphs = r.entries.map((e, k) => {
    const cards = e.graphs.map((g, i) => graphSection(g, `Entry ${k + 1} · graph ${i + 1}`, `entry-${k + 1}-graph-${i + 1}`, gi++));
    return (
      `<section class="entry" id="entry-${k + 1}"><h3>Entry ${k + 1} <span class="pill mode mode-${e.mode}">${e.mode}</span></h3>` +
      `<p class="why">${esc(e.modeReason)}</p>` +
      `<p class="meta">${plural(e.graphs.length, 'graph')} · ${plural(e.breakReasons.length, 'graph break')} · compiled in ${ms(e.compileMs)}</p>` +
      cards.join('\n') +
      `<details><summary>Guards (${e.guards.length})</summary>${guardList(e.guards)}</details>` +
      (e.breakReasons.length > 0
        ? `<details><summary>Graph breaks (${e.breakReasons.length})</summary>${breakList(e.breakReasons)}</details>`
        : '') +
      '</section>'
    );
  });
  return {
    graphs: graphs.join('\n'),
    guards: '',
    breaks: '',
    kernels: r.entries.flatMap((e, k) => e.graphs.map((g, i) => kernelSection(g, `Entry ${k + 1} · graph ${i + 1}`))).join(''),
    timings: r.entries.flatMap((e, k) => e.graphs.map((g, i) => row(`entry ${k + 1} · graph ${i + 1}`, g))).join(''),
  };
}

const STYLE = `
:root{color-scheme:light;--fg:#1d2330;--muted:#5d6778;--line:#dfe3ea;--bg:#f6f7f9;--accent:#3f7fd9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h1 code{font-size:20px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:15px;margin:0 0 6px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:480px;margin:6px 0}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.pill{background:#fff;border:1px solid var(--line);border-radius:999px;padding:3px 10px}
.mode{font-weight:600}.mode-replay{background:#e3f5e1;border-color:#9fd39a}.mode-re-run{background:#fff1d6;border-color:#f0c46a}.mode-eager{background:#fde2e1;border-color:#e8a09a}
.why{color:var(--muted);margin:4px 0 0}
section.entry{border-top:1px solid var(--line);margin:18px 0 0;padding-top:6px}section.entry h3 .pill{font-size:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px;margin:12px 0}
.meta,.muted{color:var(--muted);margin:0 0 8px}.note{color:#a14;margin:4px 0}
.decisions li{font-family:var(--mono,monospace);font-size:12px;margin:2px 0}.decisions .not-fused{color:#a14}.decisions .realize{color:#555}
.graph-scroll{overflow:auto;border:1px solid var(--line);border-radius:6px;background:#fbfcfd;margin:8px 0}
svg.graph{display:block;margin:0 auto}
svg .edge{fill:none;stroke:#a9b1bf;stroke-width:1.3}
svg text.op{font:600 12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg text.type{font:10px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;opacity:.75}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:6px 14px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;border:1.5px solid #8a94a6;vertical-align:middle}
.extern-swatch{background:repeating-linear-gradient(45deg,#ffecec 0 3px,#f2a3a3 3px 6px);border:1.5px dashed #c62828}
.unfused-swatch{background:#fff;border:1.5px dashed #9aa3b2}
.kind{font-size:11px;border-radius:4px;padding:0 5px;background:#eef1f5;color:#405066}.kind-extern{background:#ffe3e3;color:#a01c1c}
ol.breaks{padding-left:22px}ol.breaks li{margin:0 0 14px}
.reason{font-weight:600;margin:0}.loc{color:var(--muted);margin:2px 0}
ul.guards{columns:2 380px;padding-left:18px;margin:0}ul.guards li{break-inside:avoid}
.kernel{background:#fff;border:1px solid var(--line);border-left:5px solid var(--accent);border-radius:6px;padding:8px 12px;margin:8px 0}
.kernel header{display:flex;flex-wrap:wrap;align-items:center;gap:8px}.fused{color:var(--muted)}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid var(--line);padding:4px 10px;text-align:left}th{background:#f0f2f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
summary{cursor:pointer;color:var(--accent)}
.training{border-top:1px dashed var(--line);margin-top:12px;padding-top:10px}.partition{margin:4px 0 8px;padding-left:18px}
`;

/** The report as a self-contained HTML page. */
export function reportToHTML(r: ReportData, options: HTMLOptions = {}): string {
  const name = r.name || '<anonymous>';
  const stats = options.stats;
  const summary = [
    `<span class="pill mode mode-${r.mode}">${r.mode}</span>`,
    `<span class="pill">${plural(r.graphCount, 'graph')}</span>`,
    `<span class="pill">${plural(r.graphBreakCount, 'graph break')}</span>`,
    `<span class="pill">${plural(r.opCount, 'op')}</span>`,
    `<span class="pill">${plural(
      r.graphs.reduce((n, g) => n + g.kernels.length, 0),
      'kernel',
    )}</span>`,
    r.entries.length > 1 ? `<span class="pill">${r.entries.length} cache entries</span>` : '',
    `<span class="pill">compiled in ${ms(r.compileMs)}</span>`,
    r.recompiles.length > 0 ? `<span class="pill">${plural(r.recompiles.length, 'recompile')}</span>` : '',
  ].join('');
  const recompiles =
    r.recompiles.length === 0
      ? '<p class="muted">None.</p>'
      : `<ol>${r.recompiles.map((x) => `<li><code>${esc(x)}</code></li>`).join('')}</ol>`;
  const b = body(r);
  const multi = r.entries.length > 1;
  const statRows = stats
    ? `<table class="stats"><tr><th>calls</th><th>cache hits</th><th>recompiles</th><th>graphs compiled</th><th>graph breaks (all calls)</th><th>eager calls</th></tr>` +
      `<tr><td class="num">${stats.calls}</td><td class="num">${stats.cacheHits}</td><td class="num">${stats.recompiles.length}</td>` +
      `<td class="num">${stats.graphsCompiled}</td><td class="num">${stats.graphBreaks}</td><td class="num">${stats.eagerCalls}</td></tr></table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>kiln report: ${esc(name)}</title><style>${STYLE}</style></head>
<body><main>
<header><h1>kiln · <code>${esc(name)}</code></h1>
<div class="summary">${summary}</div>
<p class="why"><strong>${r.mode}:</strong> ${esc(r.modeReason)}</p></header>
<h2 id="graphs">${multi ? `Cache entries (${r.entries.length})` : 'Graphs'}</h2>
${b.graphs}
${b.breaks}
${b.guards}
<h2 id="recompiles">Recompiles (${r.recompiles.length})</h2>
${recompiles}
<h2 id="kernels">Kernels</h2>
${b.kernels || '<p class="muted">This backend reports no kernels.</p>'}
<h2 id="timings">Timings</h2>
<table class="timings"><tr><th>graph</th><th>ops</th><th>kernels</th><th>compile</th></tr>${b.timings}
<tr><th>total</th><th></th><th></th><th class="num">${ms(r.compileMs)}</th></tr></table>
${statRows}
</main></body></html>
`;
}
