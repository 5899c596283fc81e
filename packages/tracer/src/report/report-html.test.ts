import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@kiln/eager';
import { F, manualSeed, randn, tensor } from '@kiln/eager';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExplainReport } from '../index';
import { compile, explain } from '../index';

/**
 * Two graph breaks (two `.item()` reads), an extern (an int32 matmul runs as its eager kernel), fusible chains.
 * Written in each test file on purpose: break locations skip kiln's own files, so a shared fixture
 * inside packages/ would report no location.
 */
async function twoBreaks(x: Tensor, w: Tensor): Promise<Tensor> {
  const counts = x.cast('int32').matmul(w.cast('int32')).cast('float32');
  const h = x.matmul(w).relu().add(counts.mul(0.01));
  const mean = await h.mean().item();
  const y = h.sub(mean).mul(0.5).exp();
  const total = await y.sum().item();
  return F.softmax(y.div(total), -1).add(1);
}

function twoBreaksReport(): Promise<ExplainReport> {
  manualSeed(3);
  return explain(twoBreaks)(randn([6, 8]), randn([8, 5]));
}

afterEach(() => {
  delete process.env.KILN_REPORT;
});

describe('report.toHTML()', () => {
  it('draws each graph with its nodes colored by kernel, externs marked, and lists breaks, guards, kernels and timings', async () => {
    const report = await twoBreaksReport();
    expect([report.graphCount, report.graphBreakCount]).toEqual([3, 2]);
    const html = report.toHTML();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // one SVG per graph, one node group per graph node
    expect(html.match(/<svg class="graph"/g)).toHaveLength(3);
    const nodeGroups = html.match(/<g class="node /g) ?? [];
    expect(nodeGroups.length).toBe(report.graphs.reduce((n, g) => n + g.nodes.length, 0));
    // every op of an inductor graph sits in a kernel; the int32 matmul is an extern
    for (const g of report.graphs) {
      const inKernel = new Set(g.kernels.flatMap((k) => k.graphNodes ?? []));
      for (const n of g.nodes) if (n.op === 'call') expect(inKernel.has(n.id), `${n.label} #${n.id}`).toBe(true);
    }
    expect(html).toMatch(/<g class="node node-call extern" data-id="\d+" data-op="matmul" data-kernels="extern_matmul_\d+"/);
    // the breaks, with their code frames
    expect(html).toContain('Graph breaks (2)');
    expect(html.match(/<li><p class="reason">/g)).toHaveLength(2);
    expect(html).toContain('.item() reads the data of a traced tensor float32[]');
    expect(html.match(/<p class="loc">at <code>[^<]*report-html\.test\.ts:\d+:\d+<\/code><\/p><pre class="frame">/g)).toHaveLength(2);
    expect(html).toContain('&gt; ');
    // guards, kernels with source, timings
    expect(html).toContain('<code>x.shape[0] == 6</code>');
    expect(html).toMatch(/JavaScript source \(\d+ lines\)/);
    expect(html).toContain('id="timings"');
  });

  it('is self-contained: nothing is fetched to view it', async () => {
    const html = (await twoBreaksReport()).toHTML();
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:\/\//);
  });

  it('escapes what it shows', async () => {
    const report = await twoBreaksReport();
    const html = { ...report, name: '<script>alert(1)</script>' };
    expect(report.toHTML.call(html)).not.toContain('<script>alert');
  });
});

describe('the report of a function that recompiled', () => {
  it('shows every cache entry, dynamic sizes as symbols, and the compile time of all its graphs in the header', () => {
    const fast = compile((x: Tensor, _opts: { tag: string }) => x.mul(2).sum(-1));
    fast(randn([4, 8]), { tag: 'a' }); // entry 1
    fast(randn([6, 8]), { tag: 'a' }); // entry 2: dim 0 is dynamic
    fast(randn([10, 8]), { tag: 'a' }); // entry 2 at another size
    fast(randn([10, 8]), { tag: 'b' }); // entry 3: the graph of entry 2 (the tag is guarded, but the graph does not read it)
    const report = fast.explain();
    expect(report.entries.map((e) => e.mode)).toEqual(['replay', 'replay', 'replay']);
    expect(report.entries[0]!.graphs[0]!.graph).toContain('x: float32[4,8]');
    for (const e of report.entries.slice(1)) {
      expect(e.graphs[0]!.graph).toMatch(/^graph\(x: float32\[s0,8\]\):/);
      expect(e.graphs[0]!.graph).toContain('  # float32[s0]');
      expect(e.graphs[0]!.graph).toContain('# dynamic sizes: s0 = x.shape[0] (6 here)');
      expect(e.guards).toContain('x.shape[0] >= 2 (dynamic)');
    }
    // Entry 3 compiled nothing (its graph is entry 2's); the header counts each graph once, as the graphs themselves say.
    expect(report.entries[2]!.graphs[0]!.compileMs).toBe(report.entries[1]!.graphs[0]!.compileMs);
    const total = report.entries[0]!.graphs[0]!.compileMs + report.entries[1]!.graphs[0]!.compileMs;
    expect(report.compileMs).toBeCloseTo(total, 6);
    expect(report.compileMs).toBeGreaterThan(0);
    const html = report.toHTML();
    expect(html).toContain('<h2 id="graphs">Cache entries (3)</h2>');
    expect(html.match(/<section class="entry" id="entry-\d">/g)).toHaveLength(3);
    expect(html.match(/<svg class="graph"/g)).toHaveLength(3);
    expect(html).toContain('Entry 3 · graph 1');
    expect(html).toContain('x: float32[s0,8]');
    expect(html).toContain(`<span class="pill">compiled in ${total < 10 ? total.toFixed(2) : total.toFixed(1)} ms</span>`);
    expect(html).not.toMatch(/id="(arrow|hatch)-(\d+)"[\s\S]*id="\1-\2"/); // the SVGs' own ids stay unique
    expect(report.toString()).toContain('cache entries (3):');
  });
});

describe('graphs with dynamic sizes', () => {
  it('write the type of every node from the symbols, sizes computed from them included', () => {
    const fast = compile(
      (x: Tensor) =>
        x
          .reshape([x.shape[0]! * 2, 4])
          .sum(-1)
          .add(1),
      { backend: 'eager' },
    );
    for (const n of [3, 5, 7]) fast(randn([n, 8]));
    const g = fast.explain().entries.at(-1)!.graphs[0]!;
    expect(g.graph).toBe(
      [
        'graph(x: float32[s0,8]):',
        '  %x = placeholder  # float32[s0,8]',
        '  %1 = reshape(%x, shape=[2*s0, 4])  # float32[2*s0,4]',
        '  %2 = sum(%1, dim=[-1], keepdim=false)  # float32[2*s0]',
        '  %3 = add(%2, 1)  # float32[2*s0]',
        '  return (%3)',
        '  # dynamic sizes: s0 = x.shape[0] (5 here)',
      ].join('\n'),
    );
    expect(g.nodes.map((n) => n.type)).toEqual(['float32[s0,8]', 'float32[2*s0,4]', 'float32[2*s0]', 'float32[2*s0]', '']);
  });
});

describe('KILN_REPORT', () => {
  it('writes one HTML file per compiled function, rewritten with each recompile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
    try {
      process.env.KILN_REPORT = dir;
      const f = compile(
        function scaled(x: Tensor) {
          return x.mul(2).add(1);
        },
        { backend: 'eager', dynamic: false },
      );
      const g = compile(
        function scaled(x: Tensor) {
          return x.neg();
        },
        { backend: 'eager' },
      );
      f(tensor([1]));
      f(tensor([1, 2]));
      g(tensor([1]));
      expect(readdirSync(dir).sort()).toEqual(['scaled-2.html', 'scaled.html']);
      const html = readFileSync(join(dir, 'scaled.html'), 'utf8');
      expect(html).toContain('Recompiles (1)');
      expect(html).toContain('call 2: x.shape[0] == 1 failed: expected 1, got 2');
      expect(html).toMatch(/<th>calls<\/th>.*<td class="num">2<\/td>/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
