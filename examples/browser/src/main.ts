/**
 * The page: WebGPU from navigator.gpu (or cpu, said on the page, when the
 * browser has no adapter), then for each model eager and compiled results,
 * their difference, an A/B timing table, and compile()'s explain report
 * drawn inline. When it is done, `window.kilnExample` holds what was shown
 * (the headless-browser test reads it).
 */
import { type Device, initWebGpu, startCpuThreads, type Tensor, tidy } from '@kiln/eager';
import { poolThreads, sharedArena } from '@kiln/eager/kernels';
import { type Example, examples } from './models';
import type { ExampleResult, PageState } from './page-state';

const state: PageState = { done: false, results: [] };
(globalThis as { kilnExample?: PageState }).kilnExample = state;

const params = new URLSearchParams(location.search);
const TOKENS = Number(params.get('tokens') ?? 32);
const ITERS = Number(params.get('iters') ?? 5);
const $ = (id: string) => document.getElementById(id)!;

function status(text: string, kind: '' | 'warn' | 'error' = ''): void {
  const el = $('status');
  el.textContent = text;
  el.className = `note ${kind}`;
}

/** Runs fn and waits for its result (one element read back: all queued work is done); returns ms. */
async function timed(fn: () => Tensor): Promise<number> {
  const t0 = performance.now();
  const y = tidy(fn);
  const first = tidy(() => y.reshape([-1]).slice(0, 0, 1));
  await first.data();
  const ms = performance.now() - t0;
  first.dispose();
  y.dispose();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function run(example: Example): Promise<{ result: ExampleResult; html: string }> {
  const { fn, fast, input, params } = example;
  const eagerOut = fn(input, params);
  const eager = Array.from(await eagerOut.data());
  eagerOut.dispose();

  const firstCallMs = await timed(() => fast(input, params)); // traces, compiles, runs
  const again = fast(input, params); // a cache hit
  const compiled = Array.from(await again.data());
  again.dispose();
  const worst = Math.max(...compiled.map((v, i) => Math.abs(v - eager[i]!) / (1e-5 + 1e-4 * Math.abs(eager[i]!))));

  // A/B: alternate eager and compiled calls (after one warm-up each), so drift hits both alike.
  await timed(() => fn(input, params));
  await timed(() => fast(input, params));
  const eagerTimes: number[] = [];
  const compiledTimes: number[] = [];
  for (let i = 0; i < ITERS; i++) {
    eagerTimes.push(await timed(() => fn(input, params)));
    compiledTimes.push(await timed(() => fast(input, params)));
  }
  const report = fast.explain();
  return {
    result: {
      name: example.name,
      size: example.size,
      eager,
      compiled,
      worst,
      eagerMs: median(eagerTimes),
      compiledMs: median(compiledTimes),
      firstCallMs,
      mode: report.mode,
      modeReason: report.modeReason,
      kernels: report.graphs.reduce((n, g) => n + g.kernels.length, 0),
      ops: report.opCount,
    },
    html: report.toHTML(),
  };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

function table(results: ExampleResult[], device: Device): HTMLTableElement {
  const t = document.createElement('table');
  t.id = 'timings';
  const head = [
    'model',
    'size',
    'eager ms',
    'compiled ms',
    'first call ms',
    'compiled/eager',
    'kernels (ops)',
    'mode',
    'max |compiled − eager|',
  ];
  t.innerHTML = `<caption>median of ${ITERS} calls each on <b>${device}</b>, alternating; a call ends when one element of its result is read back</caption>`;
  const row = (cells: string[], tag: 'th' | 'td') => {
    const tr = t.insertRow();
    for (const c of cells) tr.appendChild(Object.assign(document.createElement(tag), { textContent: c }));
  };
  row(head, 'th');
  for (const r of results) {
    const ratio = r.compiledMs / r.eagerMs;
    row(
      [
        r.name,
        r.size,
        fmt(r.eagerMs),
        fmt(r.compiledMs),
        fmt(r.firstCallMs),
        `${ratio.toFixed(2)} (${(1 / ratio).toFixed(1)}×)`,
        `${r.kernels} (${r.ops})`,
        r.mode,
        `${r.worst.toFixed(3)} × tol`,
      ],
      'td',
    );
  }
  return t;
}

async function main(): Promise<void> {
  let device: Device = 'cpu';
  if (params.get('device') === 'cpu') {
    state.noWebGpu = 'cpu requested in the URL (?device=cpu)';
  } else {
    status('initializing WebGPU from navigator.gpu…');
    try {
      const rt = await initWebGpu();
      device = 'webgpu';
      const a = rt.adapterInfo;
      state.adapter = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ');
    } catch (error) {
      state.noWebGpu = error instanceof Error ? error.message : String(error);
    }
  }
  if (device === 'cpu') {
    status('starting the cpu worker threads…');
    await startCpuThreads(); // Web Workers start once the page yields; the models' calls do not
  }
  state.device = device;
  const where = device === 'webgpu' ? `WebGPU (${state.adapter})` : 'cpu';
  const results = $('results');
  const reports: { name: string; html: string }[] = [];
  for (const example of examples(device, TOKENS)) {
    status(`${where}: running ${example.name}…`, state.noWebGpu ? 'warn' : '');
    const { result, html } = await run(example);
    state.results.push(result);
    reports.push({ name: example.name, html });
  }
  if (device === 'cpu') {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    state.cpu = { isolated, threads: poolThreads(), workerSlices: sharedArena().threads()?.workerSlices() ?? 0 };
  }
  const threads = state.cpu?.isolated
    ? `${state.cpu.threads} threads`
    : 'one thread: the page is not cross-origin isolated, so it has no SharedArrayBuffer for worker threads';
  status(
    device === 'webgpu' ? `Ran on WebGPU: ${state.adapter}.` : `No WebGPU here — running on cpu instead (${threads}). (${state.noWebGpu})`,
    device === 'webgpu' ? '' : 'warn',
  );
  results.appendChild(table(state.results, device));
  for (const r of state.results) {
    const pre = Object.assign(document.createElement('pre'), { className: 'values' });
    const show = (xs: number[]) =>
      xs
        .slice(0, 6)
        .map((v) => v.toFixed(5))
        .join(', ');
    pre.textContent = `${r.name}: eager    [${show(r.eager)}, …] (${r.eager.length} values)\n${' '.repeat(r.name.length)}  compiled [${show(r.compiled)}, …]`;
    results.appendChild(pre);
  }
  for (const { name, html } of reports) {
    const h = Object.assign(document.createElement('h2'), { textContent: `explain(): ${name}` });
    const frame = Object.assign(document.createElement('iframe'), { className: 'report', title: `explain report: ${name}`, srcdoc: html });
    frame.dataset.model = name;
    results.append(h, frame);
  }
}

main()
  .catch((error: unknown) => {
    state.error = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    status(`failed: ${state.error}`, 'error');
  })
  .finally(() => {
    state.done = true;
    document.body.dataset.done = 'true';
  });
