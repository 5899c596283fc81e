import { KilnError } from './errors';
import { LruCache } from './lru';

export interface PipelineKey {
  wgsl: string;
  entryPoint?: string;
  constants?: Record<string, number>;
  /** Shown in errors and profiles; not part of the key. */
  label?: string;
}

/** What is known of a pipeline: still being checked, compiled, or its compile error. */
export type PipelineVerdict = 'pending' | 'ok' | KilnError;

/**
 * Runs `fn` and returns the WebGPU errors it raised, where they are known
 * when the call returns: Dawn in Node reports a validation error during the
 * call that made it (browsers report later, and get no such function).
 */
export type CaptureErrors = <T>(fn: () => T) => [T, GPUError[]];

/**
 * Compute pipelines cached by WGSL text, entry point and override constants,
 * so generated kernels that come out identical compile once. At most
 * `limit` (default 256) are kept, least recently used dropped first:
 * WebGPU has no pipeline.destroy(), a dropped pipeline is freed when nothing
 * else holds it and JS collects it (unbounded, 1000 distinct kernels once
 * grew a process on lavapipe from 232 to 926 MiB).
 *
 * `get` is synchronous (eager ops must be) and does not throw; `verdict` says
 * whether the pipeline compiled. Under Dawn that is known when `get` returns;
 * elsewhere it is 'pending' until the device answers, and the runtime gives
 * a dispatch of a pending pipeline a submission of its own. A pipeline that
 * failed leaves the cache at once (asking again compiles and reports again),
 * its error is raised by `takeErrors()` at the next sync point, or thrown by
 * `getAsync`, or by the runtime when the pipeline is dispatched.
 */
export class PipelineCache {
  private readonly cache: LruCache<string, GPUComputePipeline>;
  private readonly verdicts = new WeakMap<GPUComputePipeline, PipelineVerdict>();
  private readonly checks = new WeakMap<GPUComputePipeline, Promise<KilnError | undefined>>();
  /** Checks whose error nobody has seen yet: takeErrors reports them. */
  private readonly unreported = new Set<Promise<KilnError | undefined>>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Where errors are synchronous: a pipeline's verdict is known when `get` returns. */
    private readonly capture?: CaptureErrors,
    limit = 256,
  ) {
    this.cache = new LruCache(limit);
  }

  get size(): number {
    return this.cache.size;
  }

  /** How many pipelines are kept; settable. */
  get limit(): number {
    return this.cache.limit;
  }

  set limit(n: number) {
    this.cache.limit = n;
  }

  get(spec: PipelineKey): GPUComputePipeline {
    const k = cacheKey(spec);
    const cached = this.cache.get(k);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const create = () => {
      const module = this.device.createShaderModule({ code: spec.wgsl, label: spec.label });
      const pipeline = this.device.createComputePipeline({
        layout: 'auto',
        label: spec.label,
        compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.constants ?? {} },
      });
      return { module, pipeline };
    };
    let pipeline: GPUComputePipeline;
    let check: Promise<KilnError | undefined>;
    if (this.capture) {
      const [made, errors] = this.capture(create);
      pipeline = made.pipeline;
      const error = errors.length > 0 ? compileError(spec, errors[0]!.message) : undefined;
      this.verdicts.set(pipeline, error ?? 'ok');
      check = Promise.resolve(error);
      if (error) this.unreported.add(check);
      else this.cache.set(k, pipeline);
    } else {
      this.device.pushErrorScope('validation');
      const made = create();
      const scope = this.device.popErrorScope();
      const created = (pipeline = made.pipeline);
      this.verdicts.set(created, 'pending');
      check = diagnose(spec, made.module, scope).then((error) => {
        this.verdicts.set(created, error ?? 'ok');
        if (error && this.cache.get(k) === created) this.cache.delete(k);
        return error;
      });
      this.cache.set(k, pipeline);
      this.unreported.add(check);
    }
    this.checks.set(pipeline, check);
    return pipeline;
  }

  /** Like `get`, but a shader that does not compile throws here (and is not reported again). */
  async getAsync(spec: PipelineKey): Promise<GPUComputePipeline> {
    const pipeline = this.get(spec);
    const error = await this.settle(pipeline, true);
    if (error) throw error;
    return pipeline;
  }

  /** 'ok' for pipelines this cache did not make. */
  verdict(pipeline: GPUComputePipeline): PipelineVerdict {
    return this.verdicts.get(pipeline) ?? 'ok';
  }

  /** Marks the pipeline's compile error as seen (thrown to the caller), so takeErrors does not raise it again. */
  reported(pipeline: GPUComputePipeline): void {
    const check = this.checks.get(pipeline);
    if (check) this.unreported.delete(check);
  }

  /** The pipeline's compile error once known (undefined if it compiled); `report` marks it as seen. */
  async settle(pipeline: GPUComputePipeline, report = false): Promise<KilnError | undefined> {
    if (report) this.reported(pipeline);
    return this.checks.get(pipeline);
  }

  /** Compile errors of pipelines made since the last call, not yet thrown elsewhere. */
  async takeErrors(): Promise<KilnError[]> {
    if (this.unreported.size === 0) return [];
    const pending = [...this.unreported];
    this.unreported.clear();
    return (await Promise.all(pending)).filter((e): e is KilnError => e !== undefined);
  }
}

/**
 * The key: the shader text without a leading comment line. kiln's kernels
 * start with a comment naming the kernel (`// kiln kernel fused_add_7: ...`)
 * so that a dump reads well; identical kernels of identical layers differ
 * only there and must share one pipeline (the name is the label's job).
 */
function cacheKey(spec: PipelineKey): string {
  const constants = spec.constants ? JSON.stringify(Object.entries(spec.constants).sort()) : '';
  const code = spec.wgsl.startsWith('//') ? spec.wgsl.slice(spec.wgsl.indexOf('\n') + 1) : spec.wgsl;
  return `${spec.entryPoint ?? 'main'}\u0000${constants}\u0000${code}`;
}

interface Problem {
  line: number;
  column: number;
  message: string;
}

async function diagnose(spec: PipelineKey, module: GPUShaderModule, scope: Promise<GPUError | null>): Promise<KilnError | undefined> {
  const [info, error] = await Promise.all([module.getCompilationInfo(), scope]);
  const problems = info.messages
    .filter((m) => m.type === 'error')
    .map((m): Problem => ({ line: m.lineNum, column: m.linePos, message: m.message }));
  if (problems.length === 0 && !error) return undefined;
  return formatCompileError(spec, problems, error?.message ?? 'unknown error');
}

/** The error of a pipeline from Dawn's message, whose WGSL diagnostics read ":line:column error: message". */
function compileError(spec: PipelineKey, message: string): KilnError {
  const problems = [...message.matchAll(/:(\d+):(\d+) error: ([^\n]*)/g)].map(
    (m): Problem => ({ line: Number(m[1]), column: Number(m[2]), message: m[3]! }),
  );
  return formatCompileError(spec, problems, message);
}

function formatCompileError(spec: PipelineKey, problems: Problem[], fallback: string): KilnError {
  const where = problems.map((p) => `${p.line}:${p.column}: ${p.message}\n${codeFrame(spec.wgsl, p.line, p.column)}`);
  const detail = where.length > 0 ? where.join('\n') : fallback;
  return new KilnError(`WGSL kernel '${spec.label ?? 'unnamed'}' failed to compile:\n${detail}`, { op: 'compile-shader' });
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
