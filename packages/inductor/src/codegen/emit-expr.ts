/**
 * Spelling loop-IR expressions as statements of a target language. The walk,
 * the sharing of common subexpressions and the dtype conversions live here;
 * a `Lang` only says how each construct is written (tinygrad's split: the IR
 * does the work, the renderer spells it). Every value and non-trivial index
 * gets one `let`, keyed by its structure, so a load or an unravel used by
 * several ops is computed once.
 */
import { castScalar, type DType, ELEMENTWISE } from '@kiln/eager';
import { assertSite } from '@kiln/gpu-runtime';
import { type Expr, type Index, keyOf } from '../ir/expr';
import type { Kernel } from './kernel';

export interface Lang {
  readonly name: 'wgsl' | 'js';
  /** `let`/`const` binding of a value of dtype `dtype` (undefined: an index). */
  bind(name: string, value: string, dtype?: DType): string;
  int(value: number): string;
  /** Dynamic size `sym`, read from the kernel's metadata. */
  sym(sym: number): string;
  binary(op: 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'min', a: string, b: string): string;
  /** An int32 value used as an index, clamped into [0, bound). */
  indexFromValue(value: string, bound: string): string;
  /** A statement checking that int32 `value` is in [0, bound): a violation is an error of assert `site` (@kiln/gpu-runtime). */
  checkIndex(value: string, bound: string, site: number): string;
  load(input: number, index: string, dtype: DType): string;
  /** Element `index` of the kernel's output `output` (read back by the thread that wrote it). */
  reload(output: number, index: string, dtype: DType): string;
  constant(value: number, dtype: DType): string;
  convert(value: string, from: DType, to: DType): string;
  /**
   * An op's result of dtype `dtype` as the kernel keeps it: rounded to
   * float32 (JS), or through an identity the shader compiler cannot see
   * through, distinct at each `site` (WGSL): so fused ops round and see
   * NaN, infinities and -0 as eager's one-op kernels do.
   */
  keep(value: string, dtype: DType, site: number): string;
  less(a: string, b: string): string;
  fromIndex(index: string, dtype: DType): string;
  random(dist: 'uniform' | 'normal', param: number, index: string): string;
}

/** What the kernel around an expression provides. */
export interface EmitScope {
  /** How the kernel names a finished accumulator (already in the reduction's output dtype). */
  acc(id: number): string;
  /** The metadata parameter slot of random node `source`. */
  randomParam(source: number): number;
  /** Names fixed by the kernel, such as loop variables, by index key. */
  fixed?: ReadonlyMap<string, string>;
}

export class ExprEmitter {
  readonly lines: string[] = [];
  private readonly names = new Map<string, string>();
  private count = 0;

  constructor(
    private readonly lang: Lang,
    private readonly scope: EmitScope,
    private readonly prefix = 't',
    /** The kernel's next `keep` site, shared with child scopes. */
    private readonly sites = { next: 1 },
  ) {}

  /** A child scope (a nested loop): sees this scope's names, adds its own lines. */
  child(prefix: string): ExprEmitter {
    const c = new ExprEmitter(this.lang, this.scope, prefix, this.sites);
    for (const [k, v] of this.names) c.names.set(k, v);
    return c;
  }

  /** An atom holding the value of `e` (converted to `as` if given). */
  value(e: Expr, as: DType = e.dtype): string {
    // A constant is spelled in the dtype it is used as: a converted literal is one the shader compiler could fold.
    if (e.kind === 'const') return this.lang.constant(castScalar(e.value, e.dtype, as), as);
    const converted = this.lang.convert(this.valueRaw(e), e.dtype, as);
    // A bool made a float is select(0.0, 1.0, b): kept, or the compiler folds the constants into the op reading it (0 / y to 0).
    return e.dtype === as ? converted : this.keep(converted, as);
  }

  index(ix: Index): string {
    switch (ix.kind) {
      case 'int':
        return this.lang.int(ix.value);
      case 'var':
        return this.scope.fixed?.get(ix.name) ?? ix.name;
      case 'sym':
        return this.lang.sym(ix.sym);
      default:
        return this.memo(keyOf(ix), () => {
          if (ix.kind === 'value') return this.lang.indexFromValue(this.value(ix.value, 'int32'), this.index(ix.bound));
          // Indices are unsigned in WGSL: adding a negative constant is a subtraction.
          if (ix.kind === 'add' && ix.b.kind === 'int' && ix.b.value < 0)
            return this.lang.binary('sub', this.index(ix.a), this.lang.int(-ix.b.value));
          return this.lang.binary(ix.kind, this.index(ix.a), this.index(ix.b));
        });
    }
  }

  private valueRaw(e: Expr): string {
    switch (e.kind) {
      case 'const':
        return this.lang.constant(e.value, e.dtype);
      case 'acc':
        return this.scope.acc(e.id);
      default:
        return this.memo(keyOf(e), () => this.spell(e), e.dtype);
    }
  }

  private spell(e: Expr): string {
    switch (e.kind) {
      case 'load':
        return this.lang.load(e.input, this.index(e.index), e.dtype);
      case 'reload':
        return this.lang.reload(e.output, this.index(e.index), e.dtype);
      case 'call': {
        const args: string[] = [];
        e.args.forEach((a, k) => {
          const v = this.value(a, e.types.compute[k]);
          // A repeated operand (x - x) is kept a second time, so the compiler cannot fold the op to a constant.
          args.push(args.includes(v) ? this.keep(v, e.types.compute[k]!) : v);
        });
        const math = ELEMENTWISE[e.op][this.lang.name](args, e.types.operand);
        return this.keep(this.lang.convert(math, e.types.result, e.types.out), e.types.out);
      }
      case 'less':
        return this.lang.less(this.index(e.a), this.index(e.b));
      case 'check': {
        const site = assertSite(e.check.op, e.check.dim);
        this.statement(`check:${site}:${keyOf(e.value)}`, this.lang.checkIndex(this.value(e.value, 'int32'), this.index(e.bound), site));
        return this.value(e.then);
      }
      case 'fromIndex':
        return this.lang.fromIndex(this.index(e.index), e.dtype);
      case 'random':
        return this.lang.random(e.dist, this.scope.randomParam(e.source), this.index(e.index));
      default:
        throw new Error(`unreachable: ${e.kind}`);
    }
  }

  /** A statement emitted once per scope (like a value, keyed by what it does). */
  private statement(key: string, text: string): void {
    if (this.names.has(key)) return;
    this.names.set(key, '');
    this.lines.push(text);
  }

  private keep(value: string, dtype: DType): string {
    return this.lang.keep(value, dtype, this.sites.next++);
  }

  private memo(key: string, make: () => string, dtype?: DType): string {
    const known = this.names.get(key);
    if (known) return known;
    const text = make();
    const name = `${this.prefix}${this.count++}`;
    this.lines.push(this.lang.bind(name, text, dtype));
    this.names.set(key, name);
    return name;
  }
}

/** The scope of a kernel's expressions: its accumulators, random params and fixed names. */
export function scopeOf(k: Kernel, acc: EmitScope['acc'], fixed?: ReadonlyMap<string, string>): EmitScope {
  return {
    acc,
    randomParam: (source) => {
      const p = k.randomSources.indexOf(source);
      if (p < 0) throw new Error(`kernel ${k.name} reads random node ${source} it did not list`);
      return p;
    },
    ...(fixed ? { fixed } : {}),
  };
}

/** An index expression spelled inline, without temporaries (sizes and grid bounds). */
export function inlineIndex(lang: Lang, ix: Index): string {
  switch (ix.kind) {
    case 'int':
      return lang.int(ix.value);
    case 'sym':
      return lang.sym(ix.sym);
    case 'add':
    case 'mul':
    case 'div':
    case 'mod':
    case 'min':
      return lang.binary(ix.kind, inlineIndex(lang, ix.a), inlineIndex(lang, ix.b));
    default:
      throw new Error(`inlineIndex: ${ix.kind} is not a size`);
  }
}
