import type { GpuRuntime } from '@kiln/gpu-runtime';
import type { DType } from '../dtype';
import { ELEMENT_THREADS, gridFor, kernelPrelude } from '../kernels/prelude';
import { isContiguous, numelOf } from '../view';
import { loadAs, OPAQUE_ZERO_INIT, STORAGE_TYPE, storeAs, type WgslDType } from '../wgsl';
import { memoPipeline } from './pipeline-memo';
import type { StridedOperand } from './strided-operand';

/** A JS number taking part as a broadcast constant; passed in the metadata, so its value is not in the shader. */
export interface ScalarOperand {
  value: number;
  dtype: DType;
}

export type ElementwiseInput = StridedOperand | ScalarOperand;

const isScalar = (o: ElementwiseInput): o is ScalarOperand => 'value' in o;

export interface ElementwiseSpec {
  /** Kernel name for profiles and errors, e.g. 'add'. */
  name: string;
  /** Tensor inputs already broadcast to the output's shape (stride 0 on broadcast dims). */
  inputs: readonly ElementwiseInput[];
  /** The dtype each input is converted to before `expr` sees it. */
  computeDTypes: readonly WgslDType[];
  /** The dtype of `expr`'s value. */
  resultDType: WgslDType;
  output: StridedOperand;
  /** The math, from operand names (already loaded and converted) to a WGSL expression. */
  expr: (args: readonly string[]) => string;
  /** WGSL functions `expr` calls (e.g. erf), emitted once before the kernel. */
  helpers?: readonly string[];
}

type Access = 'vec4' | 'dense' | 'strided';

/**
 * One dispatch computing output[i] = expr(inputs[i]...). Dense operands are
 * read linearly (as vec4 where sizes and offsets allow: the loads are what
 * bounds this kernel); others through strides from the metadata, so views
 * are never copied first. The rank is baked in; sizes, strides and scalar
 * values are not, so one pipeline serves every shape of that rank.
 */
export function runElementwise(rt: GpuRuntime, spec: ElementwiseSpec): void {
  const n = numelOf(spec.output.shape);
  if (n === 0) return;
  const tensors = [...spec.inputs.filter((o) => !isScalar(o)), spec.output] as StridedOperand[];
  const dense = tensors.every(isContiguous);
  const vec4 = dense && n % 4 === 0 && tensors.every((o) => o.offset % 4 === 0);
  const access: Access = vec4 ? 'vec4' : dense ? 'dense' : 'strided';
  const operands = spec.inputs.map((o) => (isScalar(o) ? `#${o.dtype}` : o.buffer === spec.output.buffer ? `=${o.dtype}` : o.dtype));
  const signature = [
    spec.name,
    access,
    spec.output.shape.length,
    spec.output.dtype,
    spec.resultDType,
    ...operands,
    ...spec.computeDTypes,
    spec.expr(spec.inputs.map((_, k) => `a${k}`)),
  ].join('|');
  const pipeline = memoPipeline(rt, signature, spec.name, () => renderElementwise(spec, access));
  const bindings = [rt.uniform(new Uint32Array(infoWords(spec, access, n))), ...bufferBindings(spec)];
  rt.dispatch(pipeline, bindings, [gridFor(vec4 ? n / 4 : n, ELEMENT_THREADS)], spec.name);
}

/** Metadata: n, the output shape (strided only), then per operand its scalar bits or its offset (and strides). */
function infoWords(spec: ElementwiseSpec, access: Access, n: number): number[] {
  const words = [n, ...(access === 'strided' ? spec.output.shape : [])];
  for (const o of [...spec.inputs, spec.output]) {
    if (isScalar(o)) words.push(scalarBits(o));
    else words.push(o.offset, ...(access === 'strided' ? o.strides : []));
  }
  return words;
}

function scalarBits(s: ScalarOperand): number {
  if (s.dtype === 'float32') return new Uint32Array(new Float32Array([s.value]).buffer)[0]!;
  return (s.value | 0) >>> 0; // int32 and bool (0/1) as their u32 bits
}

/** Buffers bound after the metadata; an input that is the output is read from the output binding. */
function bufferBindings(spec: ElementwiseSpec): GPUBuffer[] {
  const inputs = spec.inputs.filter((o): o is StridedOperand => !isScalar(o) && o.buffer !== spec.output.buffer);
  return [...inputs.map((o) => o.buffer), spec.output.buffer];
}

export function renderElementwise(spec: ElementwiseSpec, access: Access): string {
  const out = spec.output;
  const rank = access === 'strided' ? out.shape.length : 0;
  const vector = (t: string) => (access === 'vec4' ? `vec4<${t}>` : t);
  // Where each operand's words start in the metadata.
  const base: number[] = [];
  let word = 1 + rank;
  for (const o of [...spec.inputs, out]) {
    base.push(word);
    word += isScalar(o) ? 1 : 1 + rank;
  }
  const decls: string[] = [];
  const arrays: string[] = [];
  let binding = 1;
  spec.inputs.forEach((o, k) => {
    if (isScalar(o)) return void arrays.push('');
    if (o.buffer === out.buffer) return void arrays.push('out');
    arrays.push(`in${k}`);
    decls.push(`@group(0) @binding(${binding++}) var<storage, read> in${k}: array<${vector(STORAGE_TYPE[o.dtype])}>;`);
  });
  decls.push(`@group(0) @binding(${binding}) var<storage, read_write> out: array<${vector(STORAGE_TYPE[out.dtype])}>;`);

  // Element (or vec4) index of tensor operand k for output index i.
  const indexOf = (k: number): string => {
    if (access === 'vec4') return `info(${base[k]}u) / 4u + i`;
    if (access === 'dense') return `info(${base[k]}u) + i`;
    const terms = Array.from({ length: rank }, (_, d) => `idx${d} * info(${base[k]! + 1 + d}u)`);
    return [`info(${base[k]}u)`, ...terms].join(' + ');
  };
  const scalarValue = (o: ScalarOperand, k: number) => {
    const bits = `info(${base[k]}u)`;
    const stored = o.dtype === 'float32' ? `bitcast<f32>(${bits})` : o.dtype === 'int32' ? `bitcast<i32>(${bits})` : bits;
    return loadAs(stored, o.dtype, spec.computeDTypes[k]!);
  };
  const lines: string[] = [];
  spec.inputs.forEach((o, k) => {
    if (!isScalar(o)) lines.push(`let v${k} = ${arrays[k]}[${indexOf(k)}];`);
  });
  const lanes = access === 'vec4' ? ['x', 'y', 'z', 'w'] : [''];
  for (const lane of lanes) {
    const args = spec.inputs.map((o, k) => {
      const name = `a${k}${lane}`;
      const value = isScalar(o) ? scalarValue(o, k) : loadAs(lane ? `v${k}.${lane}` : `v${k}`, o.dtype, spec.computeDTypes[k]!);
      lines.push(`let ${name} = ${value};`);
      return name;
    });
    lines.push(`let r${lane} = ${storeAs(spec.expr(args), spec.resultDType, out.dtype)};`);
  }
  const result = access === 'vec4' ? `${vector(STORAGE_TYPE[out.dtype])}(rx, ry, rz, rw)` : 'r';
  lines.push(`out[${indexOf(spec.inputs.length)}] = ${result};`);

  const unravel = Array.from({ length: rank }, (_, j) => {
    const d = rank - 1 - j;
    return `let idx${d} = rem % info(${1 + d}u);${j < rank - 1 ? ` rem = rem / info(${1 + d}u);` : ''}`;
  });
  const count = access === 'vec4' ? 'info(0u) / 4u' : 'info(0u)';
  return `// kiln eager kernel: ${spec.name} (${access})
${kernelPrelude(word)}
${decls.join('\n')}
${(spec.helpers ?? []).join('\n')}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${OPAQUE_ZERO_INIT}
  let count = ${count};
  for (var i = gid.x; i < count; i += nwg.x * ${ELEMENT_THREADS}u) {
${[...(rank > 0 ? ['var rem = i;', ...unravel] : []), ...lines].map((l) => `    ${l}`).join('\n')}
  }
}
`;
}
