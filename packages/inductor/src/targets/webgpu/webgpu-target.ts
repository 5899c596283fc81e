/**
 * The webgpu target: kernels as WGSL compute pipelines on the runtime's
 * device (./render-wgsl), buffers from its pool, and the kernels of a call
 * recorded into the shared command encoder as one batch (the batcher
 * submits it in chunks and at the end).
 */
import { type DType, KilnError, type Storage } from '@kiln/eager';
import {
  defaultRowStrategy,
  describeTile,
  gpuBufferOf,
  type MatmulLaunch,
  matmulDevice,
  matmulInfoWords,
  type RowStrategy,
} from '@kiln/eager/kernels';
import { currentRuntime, type GpuRuntime } from '@kiln/gpu-runtime';
import { type GeneratedKernel, type MatmulKernel, metadataWords, type PointwiseKernel, type RowKernel } from '../../codegen/kernel';
import { RenderCache } from '../../codegen/render-cache';
import { isStatic, numelOf } from '../../ir/size';
import { type KernelOptions, type Target, type TargetKernel, timed } from '../target';
import { MatmulTuning } from './autotune';
import { matmulLaunch, type RenderedWgsl, renderMatmulWgsl, renderWgsl } from './render-wgsl';

/** Bytes per element in a storage buffer: WGSL has no 1-byte type, bool is a u32. */
const BYTES: Record<DType, number> = { float32: 4, int32: 4, bool: 4 };

/** The webgpu target on the initialized runtime. */
export function webGpuTarget(): Target<GPUBuffer> {
  const rt = currentRuntime();
  if (!rt) throw new KilnError('webgpu is not initialized; await initWebGpu() first', { op: 'inductor' });
  return new WebGpuTarget(rt);
}

class WebGpuTarget implements Target<GPUBuffer> {
  readonly name = 'webgpu';
  readonly builds = 'pipelines';
  readonly device = 'webgpu';
  readonly maxKernelBuffers: number;
  readonly onlineSoftmax = true;
  private readonly renders = new RenderCache<RenderedWgsl>();
  private readonly matmulRenders = new RenderCache<{ source: string }>();

  constructor(private readonly rt: GpuRuntime) {
    // One storage binding stays free for the device-side assert buffer of kernels that check indices.
    this.maxKernelBuffers = rt.limits.maxStorageBuffersPerShaderStage - 1;
  }

  compile(k: GeneratedKernel, options: KernelOptions): TargetKernel<GPUBuffer> {
    return k.kind === 'matmul' ? this.matmul(k, options) : this.elementKernel(k, options);
  }

  private elementKernel(k: PointwiseKernel | RowKernel, options: KernelOptions): TargetKernel<GPUBuffer> {
    const rt = this.rt;
    const rowStrategy = k.kind === 'rows' ? strategyOf(k, options) : 'thread';
    const rendered = this.renders.get(k, `${rowStrategy} ${options.symCount}`, () =>
      renderWgsl(k, { rowStrategy, symCount: options.symCount }),
    );
    const { value: pipeline, ms } = timed(() => rt.pipeline({ wgsl: rendered.source, label: k.name }));
    const words = Math.max(4, metadataWords(options.symCount, k.randomSources.length));
    return {
      source: rendered.source,
      buildMs: ms,
      launch(reads, writes, metadata) {
        const meta = new Uint32Array(words);
        meta.set(metadata.words);
        const asserts = rendered.asserts ? [rt.assertBuffer] : [];
        rt.dispatch(pipeline, [rt.uniform(meta), ...reads, ...writes, ...asserts], rendered.workgroups(metadata.syms), k.name);
      },
    };
  }

  /**
   * A matmul: its template variant and tile depend on the operands' layout
   * (and, under max-autotune, on what was measured fastest), so a pipeline
   * per choice, made on first use.
   */
  private matmul(k: MatmulKernel, options: KernelOptions): TargetKernel<GPUBuffer> {
    const rt = this.rt;
    const { symCount } = options;
    const device = matmulDevice(rt);
    const made = new Map<string, { pipeline: GPUComputePipeline; source: string }>();
    let buildMs = 0;
    const pipelineOf = (launch: MatmulLaunch) => {
      const key = `${launch.variant} ${describeTile(launch.tile)}`;
      let choice = made.get(key);
      if (!choice) {
        const { source } = this.matmulRenders.get(k, `${key} ${symCount}`, () => ({ source: renderMatmulWgsl(k, launch, symCount) }));
        const { value: pipeline, ms } = timed(() => rt.pipeline({ wgsl: source, label: k.name }));
        buildMs += ms;
        choice = { pipeline, source };
        made.set(key, choice);
      }
      return choice;
    };
    const tuning = options.mode === 'max-autotune' ? new MatmulTuning(rt, k, symCount, options.elements) : undefined;
    // Reports show the source for the traced layout: any positive sizes pick its variant, and 8 keeps aligned sizes aligned.
    const traced = matmulLaunch(
      k,
      Array.from({ length: symCount }, () => 8),
      device,
      tuning?.choice,
    );
    const source = pipelineOf(traced).source;
    return {
      source,
      // The traced layout's pipeline, made now; other choices are made (and not counted) when a call needs them.
      buildMs,
      launch(reads, writes, { syms }) {
        const launch = matmulLaunch(k, syms, device, tuning?.choice);
        const info = new Uint32Array([...launch.info, ...syms]);
        if (info.length !== matmulInfoWords(k.batch.length) + syms.length) {
          throw new KilnError('matmul metadata mismatch (bug)', { op: 'inductor' });
        }
        const extra = k.epilogueInputs.map((i) => reads[i]!);
        rt.dispatch(
          pipelineOf(launch).pipeline,
          [rt.uniform(info), reads[k.a.input]!, reads[k.b.input]!, writes[0]!, ...extra],
          launch.grid,
          k.name,
        );
      },
      ...(tuning ? { autotune: () => tuning.note } : {}),
    };
  }

  bufferOf(storage: Storage): GPUBuffer {
    return gpuBufferOf(storage);
  }

  allocate(dtype: DType, count: number, current: GPUBuffer | undefined): GPUBuffer {
    const bytes = Math.max(16, count * BYTES[dtype]);
    if (current && current.size >= bytes) return current;
    if (current) this.rt.release(current);
    return this.rt.alloc(bytes, 'kiln-slot');
  }

  release(buffer: GPUBuffer): void {
    this.rt.release(buffer);
  }

  run<T>(call: () => T): T {
    return this.rt.batcher.batch(call);
  }
}

/** A row kernel's strategy; with a dynamic size the default is by thread (no sizes to judge by). */
function strategyOf(k: RowKernel, options: KernelOptions): RowStrategy {
  if (options.rowStrategy !== 'auto') return options.rowStrategy;
  const [rows, rowLength] = [numelOf(k.outer), numelOf(k.inner)];
  return isStatic(rows) && isStatic(rowLength) ? defaultRowStrategy(rows, rowLength) : 'thread';
}
