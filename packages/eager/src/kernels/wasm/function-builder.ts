/**
 * One WebAssembly function under construction: its signature, its locals
 * and its instruction stream. Instructions go in by text-format name
 * (`c.op('f32x4.add')`), structured control flow takes closures for its
 * bodies, and branch depths are relative as in the binary format (0 = the
 * innermost enclosing block or loop).
 */
import { ByteWriter } from './encoding';
import {
  LANE_OPS,
  type LaneOp,
  MEMORY_OPS,
  type MemoryOp,
  PLAIN_OPS,
  type PlainOp,
  SIMD_OPS,
  type SimdOp,
  VAL_TYPES,
  type ValType,
} from './opcodes';

const SIMD_PREFIX = 0xfd;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const CALL = 0x10;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const F32_CONST = 0x43;
const V128_CONST = 0x0c;
const I8X16_SHUFFLE = 0x0d;
const EMPTY_BLOCK = 0x40;
/** The prefix of bulk memory instructions; memory.fill is 11 under it. */
const MISC_PREFIX = 0xfc;
const MEMORY_FILL = 11;

export class FunctionBuilder {
  private readonly localTypes: ValType[] = [];
  private readonly code = new ByteWriter();

  constructor(
    /** Index in the module's function space (the imported host functions first). */
    readonly index: number,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** A new local of the given type, after the parameters. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(name: PlainOp | SimdOp): this {
    if (name in PLAIN_OPS) this.code.byte(PLAIN_OPS[name as PlainOp]);
    else this.code.byte(SIMD_PREFIX).u32(SIMD_OPS[name as SimdOp]);
    return this;
  }

  get(local: number): this {
    this.code.byte(LOCAL_GET).u32(local);
    return this;
  }

  set(local: number): this {
    this.code.byte(LOCAL_SET).u32(local);
    return this;
  }

  tee(local: number): this {
    this.code.byte(LOCAL_TEE).u32(local);
    return this;
  }

  i32(v: number): this {
    this.code.byte(I32_CONST).s32(v);
    return this;
  }

  f32(v: number): this {
    this.code.byte(F32_CONST).f32(v);
    return this;
  }

  /** v128.const of four float32 lanes (one number: the same in every lane). */
  f32x4(v: number | readonly [number, number, number, number]): this {
    const lanes = typeof v === 'number' ? [v, v, v, v] : v;
    this.code.byte(SIMD_PREFIX).u32(V128_CONST);
    for (const x of lanes) this.code.f32(x);
    return this;
  }

  /** v128.const of four int32 lanes (one number: the same in every lane). */
  i32x4(v: number): this {
    this.code
      .byte(SIMD_PREFIX)
      .u32(V128_CONST)
      .bytes(new Uint8Array(new Int32Array([v, v, v, v]).buffer));
    return this;
  }

  /** A load or store; `offset` is a constant byte offset added to the address operand. */
  mem(name: MemoryOp, offset = 0): this {
    const { code, align } = MEMORY_OPS[name];
    this.code.bytes(code.slice(0, 1));
    if (code.length > 1) this.code.u32(code[1]!);
    this.code.u32(align).u32(offset);
    return this;
  }

  /** memory.fill(dest, byte value, length) on memory 0: the engine's memset. */
  memoryFill(): this {
    this.code.byte(MISC_PREFIX).u32(MEMORY_FILL).byte(0);
    return this;
  }

  lane(name: LaneOp, lane: number): this {
    this.code.byte(SIMD_PREFIX).u32(LANE_OPS[name]).byte(lane);
    return this;
  }

  /** i8x16.shuffle of the two v128 operands by 32-bit lanes: lane i of the result is lane `lanes[i]` (0–3 the first, 4–7 the second). */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    this.code.byte(SIMD_PREFIX).u32(I8X16_SHUFFLE);
    for (const lane of lanes) for (let b = 0; b < 4; b++) this.code.byte(4 * lane + b);
    return this;
  }

  call(fn: { readonly index: number }): this {
    this.code.byte(CALL).u32(fn.index);
    return this;
  }

  br(depth: number): this {
    this.code.byte(BR).u32(depth);
    return this;
  }

  brIf(depth: number): this {
    this.code.byte(BR_IF).u32(depth);
    return this;
  }

  /** A block: a branch to it (depth 0 inside) jumps past its end. */
  block(body: () => void): this {
    this.code.byte(BLOCK).byte(EMPTY_BLOCK);
    body();
    this.code.byte(END);
    return this;
  }

  /** A loop: a branch to it (depth 0 inside) jumps back to its start. */
  loop(body: () => void): this {
    this.code.byte(LOOP).byte(EMPTY_BLOCK);
    body();
    this.code.byte(END);
    return this;
  }

  /** if/else on the i32 on the stack; without a result type both arms leave the stack as they found it. */
  ifElse(then: () => void, otherwise?: () => void, result?: ValType): this {
    this.code.byte(IF).byte(result ? VAL_TYPES[result] : EMPTY_BLOCK);
    then();
    if (otherwise) {
      this.code.byte(ELSE);
      otherwise();
    }
    this.code.byte(END);
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body` over the i32 local `i`, with
   * `start` and `end` pushed by the given emitters (end is re-evaluated each
   * time round). Inside the body a branch of depth 0 continues, 2 breaks.
   */
  forRange(i: number, start: () => void, end: () => void, step: number, body: () => void): this {
    start();
    this.set(i);
    return this.block(() =>
      this.loop(() => {
        this.get(i);
        end();
        this.op('i32.ge_s').brIf(1);
        this.block(body);
        this.get(i).i32(step).op('i32.add').set(i).br(0);
      }),
    );
  }

  /** The body as the code section stores it: locals (run-length by type), instructions, end. */
  encodeBody(): ByteWriter {
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const body = new ByteWriter().u32(runs.length);
    for (const [count, t] of runs) body.u32(count).byte(VAL_TYPES[t]);
    return body.bytes(this.code.finish()).byte(END);
  }
}
