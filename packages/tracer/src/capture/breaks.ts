/**
 * Graph breaks as the user sees them: why (a reason a person reads), where
 * (file:line:column of the user's code, found from the stack with kiln's own
 * frames skipped) and a code frame, and the fullgraph error.
 */
import { KilnError } from '@kiln/eager';
import { log, logEnabled, nodeBuiltin } from '@kiln/gpu-runtime';
import type { SourceInfo, SourceSite } from '../source/analysis';

export type BreakKind = 'read' | 'coercion' | 'disabled' | 'op';

export interface GraphBreak {
  readonly kind: BreakKind;
  /** "Tensor.item() reads the data of a traced tensor float32[] (graph break)". */
  readonly reason: string;
  /** file:line:column of the user's code, or null when the stack does not show it. */
  readonly location: string | null;
  /** A few lines of source with a caret under the column. */
  readonly codeFrame: string | null;
}

/**
 * What `KILN_LOGS=graph_breaks` has said of one compiled function's breaks.
 * A function that re-runs its JavaScript breaks at the same place on every
 * call; a line per call would bury everything else. So a break is printed
 * when it ends a graph compiled for it (the first time, and again when what
 * precedes it changed), and otherwise counted: the count is printed at 10,
 * 100, 1000, ... repeats, and with the break when it is printed again.
 */
export class BreakLog {
  /** Per break (reason and place): repeats since it was last printed. */
  private readonly repeats = new Map<string, number>();

  /** Break number `index` of a call of `name` happened; `fresh`: the graph it needed was compiled for it. */
  note(name: string, index: number, b: GraphBreak, fresh: boolean): void {
    if (!logEnabled('graph_breaks')) return;
    const key = `${b.reason}\n${b.location ?? ''}`;
    const seen = this.repeats.get(key);
    const what = `${b.reason}${b.location ? ` at ${b.location}` : ''}`;
    if (fresh || seen === undefined) {
      const since = seen ? ` (repeated ${seen} time${seen === 1 ? '' : 's'} since it was last printed)` : '';
      log('graph_breaks', `${name}: graph break ${index}: ${what}${since}`);
      this.repeats.set(key, 0);
      return;
    }
    const n = seen + 1;
    this.repeats.set(key, n);
    if (/^10+$/.test(String(n))) {
      log('graph_breaks', `${name}: graph break ${index} repeated ${n} times (${what}); printed again when it ends a new graph`);
    }
  }
}

interface Frame {
  readonly fn: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.+?):(\d+):(\d+)\)?\s*$/;
const KILN_FILE = /[\\/](?:packages[\\/](?:tracer|eager|inductor|gpu-runtime)[\\/]src|node_modules[\\/]@kiln)[\\/]/;
const TEST_FILE = /\.(?:test|spec|bench)\.[cm]?[jt]sx?$/;

function isKilnFrame(f: Frame): boolean {
  return (KILN_FILE.test(f.file) && !TEST_FILE.test(f.file)) || f.file.startsWith('node:') || f.file.includes('node_modules');
}

function stackFrames(): Frame[] {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 80;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const frames: Frame[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line);
    if (m) frames.push({ fn: m[1] ?? '', file: m[2]!, line: Number(m[3]), column: Number(m[4]) });
  }
  return frames;
}

export interface UserSite {
  /** The user's frame: where the break happened. */
  readonly frame: Frame;
  /** The last kiln function before it (e.g. `LazyTensor.item`): what the user called. */
  readonly kilnFn: string;
}

/** The first frame of user code on the stack, and the kiln method it called. */
export function userSite(): UserSite | null {
  const frames = stackFrames();
  let kilnFn = '';
  for (const f of frames) {
    if (isKilnFrame(f)) {
      kilnFn = f.fn;
      continue;
    }
    return { frame: f, kilnFn };
  }
  return null;
}

/** The method name in a V8 frame name (`LazyTensor.item` -> `item`). */
export function methodName(kilnFn: string): string {
  return kilnFn.split('.').at(-1) ?? kilnFn;
}

// ---- source text for code frames ----

type ReadFile = (path: string) => string;

function fileReader(): ReadFile | null {
  const fs = nodeBuiltin<{ readFileSync(path: string, enc: 'utf8'): string }>('node:fs');
  const url = nodeBuiltin<{ fileURLToPath(u: string): string }>('node:url');
  if (!fs || !url) return null;
  return (path) => fs.readFileSync(path.startsWith('file:') ? url.fileURLToPath(path) : path, 'utf8');
}

const files = new Map<string, string[] | null>();

function fileLines(path: string): string[] | null {
  let lines = files.get(path);
  if (lines === undefined) {
    try {
      lines = fileReader()?.(path).split(/\r?\n/) ?? null;
    } catch {
      lines = null;
    }
    files.set(path, lines);
  }
  return lines;
}

/** Lines around `line` (1-based) with a caret under `column` (1-based). */
export function formatCodeFrame(lines: readonly string[], line: number, column: number, context = 2): string {
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = (lines[n - 1] ?? '').replace(/\t/g, '  ');
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${text}`);
    if (n === line) {
      const before = (lines[n - 1] ?? '').slice(0, column - 1).replace(/\t/g, '  ');
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(before.length)}^`);
    }
  }
  return out.join('\n');
}

function relative(file: string): string {
  const path = file.startsWith('file://') ? decodeURIComponent(file.slice('file://'.length)) : file;
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  const cwd = proc?.cwd?.();
  return cwd && path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

/**
 * Where a break happened: the user's frame when its file can be read,
 * otherwise the first not-yet-used site the source analysis found for this
 * kind of break, relative to the function's own source.
 */
export function locate(
  site: UserSite | null,
  info: SourceInfo | null,
  method: string | null,
): { location: string | null; codeFrame: string | null } {
  if (site) {
    const { file, line, column } = site.frame;
    const lines = fileLines(file);
    if (lines) return { location: `${relative(file)}:${line}:${column}`, codeFrame: formatCodeFrame(lines, line, column) };
  }
  if (info && info.opaque === null) {
    const match: SourceSite | undefined = info.breakSites.find((s) => method !== null && s.text.includes(`.${method}(`));
    if (match) {
      const lines = info.source.split(/\r?\n/);
      return {
        location: `${info.name || '<anonymous>'}:${match.line}:${match.column + 1} (in the function's source)`,
        codeFrame: formatCodeFrame(lines, match.line, match.column + 1),
      };
    }
  }
  if (site) return { location: `${relative(site.frame.file)}:${site.frame.line}:${site.frame.column}`, codeFrame: null };
  return { location: null, codeFrame: null };
}

/** The error `fullgraph: true` throws at the first break. */
export function fullgraphError(name: string, b: GraphBreak): KilnError {
  const where = b.location ? ` at ${b.location}` : '';
  const frame = b.codeFrame ? `\n${b.codeFrame}` : '';
  return new KilnError(
    `${name || 'the compiled function'} has a graph break${where}: ${b.reason}. fullgraph: true requires one graph; ` +
      `move the break out of the function or compile without fullgraph${frame}`,
    { op: 'compile' },
  );
}
