import type { GpuRuntime } from '@kiln/gpu-runtime';
import { describeTile, type MatmulTile, matmulDevice, planMatmul, renderMatmulTemplate } from '../kernels/matmul-wgsl';
import { numelOf } from '../view';
import { memoPipeline } from './pipeline-memo';
import type { StridedOperand } from './strided-operand';

export interface MatmulSpec {
  name: string;
  /** [...batch, M, K], any strides (a transposed weight is read in place). */
  a: StridedOperand;
  /** [...batch, K, N], any strides; batch dims already broadcast to a's. */
  b: StridedOperand;
  /** Dense [...batch, M, N]. */
  out: StridedOperand;
  /** Defaults to DEFAULT_TILES of the variant the operands allow. */
  tile?: MatmulTile;
}

/** C = A @ B (float32 or int32), batched over leading dims, in one dispatch of the matmul template (../kernels). */
export function runMatmul(rt: GpuRuntime, spec: MatmulSpec): void {
  const { a, b, out } = spec;
  if (numelOf(out.shape) === 0) return;
  const int = a.dtype === 'int32';
  const launch = planMatmul(a, b, out.offset, matmulDevice(rt), !int, { tile: spec.tile });
  const { variant, tile } = launch;
  const signature = [spec.name, variant, a.dtype, a.shape.length, describeTile(tile)].join('|');
  const pipeline = memoPipeline(rt, signature, spec.name, () =>
    renderMatmulTemplate({ name: spec.name, tile, batchRank: a.shape.length - 2, variant, elementType: int ? 'i32' : 'f32' }),
  );
  rt.dispatch(pipeline, [rt.uniform(new Uint32Array(launch.info)), a.buffer, b.buffer, out.buffer], launch.grid, spec.name);
}
