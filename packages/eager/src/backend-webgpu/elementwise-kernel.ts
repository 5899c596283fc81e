import type { GpuRuntime } from '@kiln/gpu-runtime';
import { isContiguous, numelOf } from '../view';
import { gridFor, kernelPrelude, type StridedOperand } from './strided-operand';
import { loadAs, STORAGE_TYPE, storeAs, type WgslDType } from './wgsl-types';

export interface ElementwiseSpec {
  /** Kernel name for profiles and errors, e.g. 'add'. */
  name: string;
  /** Inputs already broadcast to the output's shape (stride 0 on broadcast dims). */
  inputs: readonly StridedOperand[];
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

const WORKGROUP = 256;

/**
 * One dispatch computing output[i] = expr(inputs[i]...). Dense operands are
 * read linearly (as vec4 where sizes and offsets allow: the loads are what
 * bounds this kernel); others through strides from the metadata, so views
 * are never copied first. The rank is baked in; sizes and strides are not,
 * so one pipeline serves every shape of that rank.
 */
export function runElementwise(rt: GpuRuntime, spec: ElementwiseSpec): void {
  const n = numelOf(spec.output.shape);
  if (n === 0) return;
  const operands = [...spec.inputs, spec.output];
  const dense = operands.every(isContiguous);
  const vec4 = dense && n % 4 === 0 && operands.every((o) => o.offset % 4 === 0);
  const words = dense ? [n, ...operands.map((o) => o.offset)] : stridedInfo(n, operands);
  const wgsl = renderElementwise(spec, dense ? (vec4 ? 'vec4' : 'dense') : 'strided');
  const pipeline = rt.pipeline({ wgsl, label: spec.name });
  const bindings = [rt.uniform(new Uint32Array(words)), ...bufferBindings(spec)];
  rt.dispatch(pipeline, bindings, [gridFor(vec4 ? n / 4 : n, WORKGROUP)], spec.name);
}

/** Buffers bound after the metadata; an input that is the output is read from the output binding. */
function bufferBindings(spec: ElementwiseSpec): GPUBuffer[] {
  return [...spec.inputs.filter((o) => o.buffer !== spec.output.buffer).map((o) => o.buffer), spec.output.buffer];
}

function stridedInfo(n: number, operands: readonly StridedOperand[]): number[] {
  const shape = operands.at(-1)!.shape;
  return [n, ...shape, ...operands.flatMap((o) => [o.offset, ...o.strides])];
}

type Access = 'vec4' | 'dense' | 'strided';

export function renderElementwise(spec: ElementwiseSpec, access: Access): string {
  const rank = spec.output.shape.length;
  const out = spec.output;
  const names: string[] = [];
  const decls: string[] = [];
  let binding = 1;
  spec.inputs.forEach((input, k) => {
    if (input.buffer === out.buffer) {
      names.push('out');
      return;
    }
    names.push(`in${k}`);
    const type = access === 'vec4' ? `vec4<${STORAGE_TYPE[input.dtype]}>` : STORAGE_TYPE[input.dtype];
    decls.push(`@group(0) @binding(${binding++}) var<storage, read> in${k}: array<${type}>;`);
  });
  const outType = access === 'vec4' ? `vec4<${STORAGE_TYPE[out.dtype]}>` : STORAGE_TYPE[out.dtype];
  decls.push(`@group(0) @binding(${binding}) var<storage, read_write> out: array<${outType}>;`);

  const operands = [...spec.inputs, out];
  const infoWords = access === 'strided' ? 1 + rank + operands.length * (1 + rank) : 1 + operands.length;
  // Element offset of operand k for linear output index i.
  const offsetOf = (k: number): string => {
    if (access !== 'strided') return `info(${1 + k}u) + i`;
    const base = 1 + rank + k * (1 + rank);
    const terms = Array.from({ length: rank }, (_, d) => `idx${d} * info(${base + 1 + d}u)`);
    return [`info(${base}u)`, ...terms].join(' + ');
  };
  const unravel =
    access === 'strided'
      ? Array.from({ length: rank }, (_, j) => {
          const d = rank - 1 - j;
          return `    let idx${d} = rem % info(${1 + d}u);${j < rank - 1 ? ` rem = rem / info(${1 + d}u);` : ''}`;
        }).join('\n')
      : '';
  const math = (lane: string): string[] => {
    const args = spec.inputs.map((input, k) => {
      const raw = access === 'vec4' ? `v${k}${lane}` : `${names[k]}[o${k}]`;
      return loadAs(raw, input.dtype, spec.computeDTypes[k]!);
    });
    const lets = args.map((a, k) => `let a${k}${lane.replace('.', '_')} = ${a};`);
    const value = spec.expr(args.map((_, k) => `a${k}${lane.replace('.', '_')}`));
    return [...lets, `let r${lane.replace('.', '_')} = ${storeAs(value, spec.resultDType, out.dtype)};`];
  };

  let body: string;
  if (access === 'vec4') {
    const loads = spec.inputs.map((_, k) => `let v${k} = ${names[k]}[(info(${1 + k}u) / 4u) + i];`);
    const lanes = ['.x', '.y', '.z', '.w'];
    body = [
      ...loads,
      ...lanes.flatMap(math),
      `out[(info(${operands.length}u) / 4u) + i] = ${outType}(${lanes.map((l) => `r${l.replace('.', '_')}`).join(', ')});`,
    ].join('\n    ');
  } else {
    const offsets = operands.map((_, k) => `let o${k} = ${offsetOf(k)};`);
    body = [
      ...offsets.slice(0, spec.inputs.length),
      ...math(''),
      offsets.at(-1)!.replace(`let o${spec.inputs.length}`, 'let oo'),
      'out[oo] = r;',
    ].join('\n    ');
  }
  const count = access === 'vec4' ? 'info(0u) / 4u' : 'info(0u)';
  return `// kiln eager kernel: ${spec.name} (${access})
${kernelPrelude(infoWords)}
${decls.join('\n')}
${(spec.helpers ?? []).join('\n')}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let count = ${count};
  for (var i = gid.x; i < count; i += nwg.x * ${WORKGROUP}u) {
${access === 'strided' ? `    var rem = i;\n${unravel}\n` : ''}    ${body}
  }
}
`;
}
