/**
 * `KILN_REPORT=dir`: one self-contained HTML report per compiled function
 * (./report-html), written to `dir/<name>.html` each time the function
 * compiles a new cache entry (so the file also lists its recompiles). Two
 * functions with the same name get `<name>-2.html`, and so on. Outside Node
 * (no file system) the variable is ignored.
 */
import { log, nodeBuiltin } from '@kiln/gpu-runtime';
import type { CompileStats } from '../cache/stats';
import type { ExplainReport } from './explain-report';
import { reportToHTML } from './report-html';

interface NodeFs {
  mkdirSync(path: string, options: { recursive: true }): unknown;
  writeFileSync(path: string, data: string): void;
}

const files = new WeakMap<object, string>();
const taken = new Map<string, number>();

function fileName(owner: object, name: string): string {
  let file = files.get(owner);
  if (!file) {
    const base = (name || 'anonymous').replace(/[^\w.-]+/g, '_').slice(0, 80);
    const n = (taken.get(base) ?? 0) + 1;
    taken.set(base, n);
    file = n === 1 ? `${base}.html` : `${base}-${n}.html`;
    files.set(owner, file);
  }
  return file;
}

/** Writes the report of `owner` (a compiled function) when KILN_REPORT names a folder; returns the path written, or null. */
export function writeReportFile(owner: { readonly name: string }, report: () => ExplainReport, stats: CompileStats): string | null {
  const dir = typeof process === 'undefined' ? undefined : process.env.KILN_REPORT;
  if (!dir) return null;
  const fs = nodeBuiltin<NodeFs>('node:fs');
  if (!fs) return null;
  const path = `${dir.replace(/\/+$/, '')}/${fileName(owner, owner.name)}`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const r = report();
    fs.writeFileSync(path, reportToHTML(r, { stats }));
    log('perf', `${owner.name}: report written to ${path}`);
    return path;
  } catch (e) {
    console.warn(`[kiln] KILN_REPORT: could not write ${path}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}
