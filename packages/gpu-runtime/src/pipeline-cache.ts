import { KilnError } from './errors';

export interface PipelineKey {
  wgsl: string;
  entryPoint?: string;
  constants?: Record<string, number>;
  /** Shown in errors and profiles; not part of the key. */
  label?: string;
}

/**
 * Compute pipelines cached by WGSL text, entry point and override constants,
 * so generated kernels that come out identical compile once.
 *
 * `get` is synchronous (eager ops must be), so compile errors are collected
 * and raised by `takeErrors()` at the runtime's next sync point; `getAsync`
 * waits and throws at once.
 */
export class PipelineCache {
  private readonly cache = new Map<string, GPUComputePipeline>();
  private readonly checks: Promise<KilnError | undefined>[] = [];
  hits = 0;
  misses = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  get(spec: PipelineKey): GPUComputePipeline {
    const k = cacheKey(spec);
    const cached = this.cache.get(k);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: spec.wgsl, label: spec.label });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      label: spec.label,
      compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.constants ?? {} },
    });
    const scope = this.device.popErrorScope();
    this.checks.push(diagnose(spec, module, scope));
    this.cache.set(k, pipeline);
    return pipeline;
  }

  /** Like `get`, but a shader that does not compile throws here. */
  async getAsync(spec: PipelineKey): Promise<GPUComputePipeline> {
    const k = cacheKey(spec);
    const cached = this.cache.get(k);
    if (cached) {
      this.hits++;
      return cached;
    }
    const pipeline = this.get(spec);
    const error = await this.checks.pop();
    if (error) {
      this.cache.delete(k);
      throw error;
    }
    return pipeline;
  }

  /** Compile errors of pipelines made since the last call. */
  async takeErrors(): Promise<KilnError[]> {
    if (this.checks.length === 0) return [];
    const pending = this.checks.splice(0);
    return (await Promise.all(pending)).filter((e): e is KilnError => e !== undefined);
  }
}

function cacheKey(spec: PipelineKey): string {
  const constants = spec.constants ? JSON.stringify(Object.entries(spec.constants).sort()) : '';
  return `${spec.entryPoint ?? 'main'}\u0000${constants}\u0000${spec.wgsl}`;
}

async function diagnose(
  spec: PipelineKey,
  module: GPUShaderModule,
  scope: Promise<GPUError | null>,
): Promise<KilnError | undefined> {
  const [info, error] = await Promise.all([module.getCompilationInfo(), scope]);
  const problems = info.messages.filter((m) => m.type === 'error');
  if (problems.length === 0 && !error) return undefined;
  const where = problems.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}\n${codeFrame(spec.wgsl, m.lineNum, m.linePos)}`);
  const detail = where.length > 0 ? where.join('\n') : (error?.message ?? 'unknown error');
  return new KilnError(`WGSL kernel '${spec.label ?? 'unnamed'}' failed to compile:\n${detail}`, {
    op: 'compile-shader',
  });
}

/** Two lines of context around `line` (1-based), numbered, with a caret. */
export function codeFrame(source: string, line: number, column: number, context = 2): string {
  const lines = source.split('\n');
  const first = Math.max(1, line - context);
  const last = Math.min(lines.length, line + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const marker = n === line ? '>' : ' ';
    out.push(`${marker} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === line && column > 0) out.push(`  ${' '.repeat(width)} | ${' '.repeat(column - 1)}^`);
  }
  return out.join('\n');
}
