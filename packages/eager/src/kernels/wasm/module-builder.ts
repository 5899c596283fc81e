/**
 * kiln's own WebAssembly binary emitter: a module of functions over one
 * imported linear memory (and the imported host Math functions, see
 * HOST_MATH), written out as the type, import, function, export and code
 * sections.
 *
 * Why not binaryen (or wabt): the kernels need a few dozen opcodes and no
 * optimizer (V8 optimizes), binaryen is a ~10 MB download compiled to wasm
 * itself, and writing the format directly keeps kernel generation
 * synchronous, dependency-free and fast enough to run per kernel.
 */
import { ByteWriter } from './encoding';
import { FunctionBuilder } from './function-builder';
import { VAL_TYPES, type ValType } from './opcodes';
import { ARENA_MEMORY, HOST_MATH, type HostMath, hostArity } from './wasm-api';

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const FUNC_TYPE = 0x60;
const EXTERNAL_FUNC = 0x00;
const EXTERNAL_MEMORY = 0x02;

/** The memory every kiln module imports as `env.memory`. */
export interface MemoryImport {
  /** Initial size in 64 KiB pages. */
  minPages: number;
  /** Required with `shared` (threads share one memory). */
  maxPages?: number;
  shared?: boolean;
}

/** What `call` takes to call host function `name` (float64s to float64): imports come first in the function index space. */
export const hostFunction = (name: HostMath): { readonly index: number } => ({ index: HOST_MATH.indexOf(name) });

/** A host function's signature: its arity's float64s to one float64. */
const hostSignature = (name: HostMath) => ({ params: Array<ValType>(hostArity(name)).fill('f64'), results: ['f64'] as const });

export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  private readonly exports: [string, FunctionBuilder][] = [];

  constructor(private readonly memory: MemoryImport = ARENA_MEMORY) {}

  /** Declares a function (its index is fixed now, so others can call it before its body is written). */
  func(params: readonly ValType[], results: readonly ValType[], exportName?: string): FunctionBuilder {
    const fn = new FunctionBuilder(HOST_MATH.length + this.functions.length, params, results);
    this.functions.push(fn);
    if (exportName !== undefined) this.exports.push([exportName, fn]);
    return fn;
  }

  toBytes(): Uint8Array {
    // Signatures are deduplicated: functions point at a type index.
    type Signature = { readonly params: readonly ValType[]; readonly results: readonly ValType[] };
    const signatures: Signature[] = [];
    const keyOf = (fn: Signature) => `${fn.params.join(',')}->${fn.results.join(',')}`;
    const typeIndex = (fn: Signature) => {
      const at = signatures.findIndex((s) => keyOf(s) === keyOf(fn));
      return at >= 0 ? at : signatures.push(fn) - 1;
    };
    const hostTypes = HOST_MATH.map((name) => typeIndex(hostSignature(name)));
    const typeOf = this.functions.map(typeIndex);
    const out = new ByteWriter().bytes(MAGIC_AND_VERSION);
    const section = (id: number, write: (w: ByteWriter) => void) => {
      const w = new ByteWriter();
      write(w);
      out.byte(id).sized(w);
    };

    section(SECTION.type, (w) => {
      w.u32(signatures.length);
      for (const fn of signatures) {
        w.byte(FUNC_TYPE).u32(fn.params.length);
        for (const t of fn.params) w.byte(VAL_TYPES[t]);
        w.u32(fn.results.length);
        for (const t of fn.results) w.byte(VAL_TYPES[t]);
      }
    });
    section(SECTION.import, (w) => {
      const { minPages, maxPages, shared } = this.memory;
      if (shared && maxPages === undefined) throw new Error('a shared memory needs maxPages');
      w.u32(1 + HOST_MATH.length);
      HOST_MATH.forEach((name, i) => w.name('env').name(name).byte(EXTERNAL_FUNC).u32(hostTypes[i]!));
      w.name('env').name('memory').byte(EXTERNAL_MEMORY);
      // Limits flags: bit 0 = has maximum, bit 1 = shared.
      w.byte((maxPages !== undefined ? 1 : 0) | (shared ? 2 : 0)).u32(minPages);
      if (maxPages !== undefined) w.u32(maxPages);
    });
    section(SECTION.function, (w) => {
      w.u32(typeOf.length);
      for (const t of typeOf) w.u32(t);
    });
    section(SECTION.export, (w) => {
      w.u32(this.exports.length);
      for (const [name, fn] of this.exports) w.name(name).byte(EXTERNAL_FUNC).u32(fn.index);
    });
    section(SECTION.code, (w) => {
      w.u32(this.functions.length);
      for (const fn of this.functions) w.sized(fn.encodeBody());
    });
    return out.finish();
  }
}
