/**
 * Guards: what a cache entry assumed about its inputs, as checks that run
 * on every call and as text a person reads (`x.shape[0] == 8`,
 * `opts.scale == 0.5`, `model.forward is <function forward #12>`). Inputs
 * are walked from the arguments (and a module's fields) by path: tensors
 * are guarded by dtype, device, rank, sizes (dynamic dims only by `>= 2`:
 * sizes 0 and 1 stay specialized) and contiguity, and read fresh on each
 * call (a module's weight swapped for another of the same kind is used
 * without a recompile); numbers, strings and booleans by value; arrays,
 * plain objects and instances of the user's classes by structure (their
 * class by identity, their fields one by one); functions by identity
 * (outside a module or class instance they make the entry re-run, since
 * what they do cannot be guarded); other objects (a Map, a class with
 * private members) by class, and the entry re-runs. Guards never run
 * the user's code: they read data properties only, and a getter or a Proxy
 * is guarded as being one and makes the entry re-run (see ./property-reads).
 */
import { isGradEnabled, Tensor, views } from '@kiln/eager';
import type { ParamName } from '../source/analysis';
import { hasPrivateMembers, isNative } from '../source/function-source';
import { HIDDEN, inheritedAccessor, isInspectable, isProxy, readData, typeName } from './property-reads';

/** Where a compiled function's inputs come from: its arguments, `this` (the module), and the values of its closure (see ./closure). */
export interface Roots {
  readonly args: readonly unknown[];
  readonly self: unknown;
  readonly closure?: readonly unknown[];
}

export type Getter = (r: Roots) => unknown;

export type GuardKind =
  | 'arity'
  | 'type'
  | 'dtype'
  | 'device'
  | 'rank'
  | 'size'
  | 'layout'
  | 'value'
  | 'structure'
  | 'identity'
  | 'alias'
  | 'grad';

export interface Guard {
  readonly kind: GuardKind;
  /** The guard as a person reads it: `x.shape[0] == 8`. */
  readonly text: string;
  readonly path: string;
  /** For size guards: the dim. */
  readonly dim?: number;
  readonly expected: string;
  /** The value the guard sees in `r`, as text. */
  actual(r: Roots): string;
  check(r: Roots): boolean;
}

export interface GuardFailure {
  readonly guard: Guard;
  readonly actual: string;
}

/** A tensor the function receives (an argument, a module's field, a closure variable). */
export interface TensorLeaf {
  readonly path: string;
  readonly get: Getter;
  readonly dynamicDims: readonly number[];
}

/** A JS number the function receives whose value may change between calls (automatic dynamic): a size symbol in its graphs. */
export interface NumberLeaf {
  readonly path: string;
  readonly get: Getter;
}

/** Which inputs are dynamic: dims of a tensor at a path, and numbers at a path. */
export interface DynamicPolicy {
  dims(path: string, t: Tensor): readonly number[];
  number(path: string, v: number): boolean;
}

/** A dynamic number: an integer >= 2 (0 and 1 stay specialized, as sizes). */
export const isDynamicInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 2;

/** A value the function receives that guards cannot see into (a function, a class instance). */
export interface OpaqueLeaf {
  readonly path: string;
  readonly what: string;
}

export class GuardSet {
  /** One fast check per leaf or container; the detailed guards only explain a failure. */
  constructor(
    readonly guards: readonly Guard[],
    private readonly fast: readonly ((r: Roots) => boolean)[],
    private readonly dynamicLeaves: readonly TensorLeaf[],
    private readonly numbers: readonly NumberLeaf[],
  ) {}

  check(r: Roots): boolean {
    const fast = this.fast;
    for (let i = 0; i < fast.length; i++) if (!fast[i]!(r)) return false;
    return true;
  }

  /** Every guard that fails for `r` (one per path: a failed type hides that path's dtype and sizes). */
  failures(r: Roots): GuardFailure[] {
    const out: GuardFailure[] = [];
    const failedPaths: string[] = [];
    for (const g of this.guards) {
      if (failedPaths.some((p) => g.path === p || g.path.startsWith(`${p}.`) || g.path.startsWith(`${p}[`))) continue;
      let ok: boolean;
      try {
        ok = g.check(r);
      } catch {
        ok = false;
      }
      if (!ok) {
        out.push({ guard: g, actual: safeActual(g, r) });
        if (g.kind !== 'size') failedPaths.push(g.path);
      }
    }
    return out;
  }

  /** The sizes of the dynamic dims and the dynamic numbers in `r` (the key of a dynamic entry's per-size plans). */
  sizesKey(r: Roots): string {
    const leaves = this.dynamicLeaves;
    if (leaves.length === 0 && this.numbers.length === 0) return '';
    let key = '';
    for (const leaf of leaves) {
      const shape = (leaf.get(r) as Tensor).shape;
      for (const d of leaf.dynamicDims) key += `${shape[d]},`;
    }
    for (const n of this.numbers) key += `${n.get(r)};`;
    return key;
  }

  get texts(): string[] {
    return this.guards.map((g) => g.text);
  }
}

function safeActual(g: Guard, r: Roots): string {
  try {
    return g.actual(r);
  } catch {
    return 'missing';
  }
}

/** What a call's inputs look like, and the guards that recognize calls like it. */
export interface InputSpec {
  readonly guards: GuardSet;
  readonly tensorLeaves: readonly TensorLeaf[];
  readonly numberLeaves: readonly NumberLeaf[];
  /** Integer numbers guarded by value (their values are what symbolic sizes are fitted to when they become dynamic). */
  readonly integerLeaves: readonly NumberLeaf[];
  readonly opaque: readonly OpaqueLeaf[];
  /** Getters of the input arrays and plain objects (a result that returns one returns the caller's object). */
  readonly containers: readonly Getter[];
}

const tensorIds = new WeakMap<object, number>();
let nextTensorId = 1;

/** `<tensor #12>`: a stable number per object, for identity guards. */
export function objectId(o: object): number {
  let id = tensorIds.get(o);
  if (id === undefined) tensorIds.set(o, (id = nextTensorId++));
  return id;
}

function describeValue(v: unknown): string {
  if (v === HIDDEN) return 'a getter';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if ((typeof v === 'object' || typeof v === 'function') && v !== null && isProxy(v)) return `a Proxy #${objectId(v)}`;
  if (v instanceof Tensor) return `${v.dtype}[${v.shape.join(',')}] tensor`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'function') return `<function ${functionName(v)} #${objectId(v)}>`;
  if (typeof v === 'object' && v !== null) return `${typeName(v)} #${objectId(v)}`;
  return String(v);
}

function functionName(f: object): string {
  const name = readData(f, 'name');
  return typeof name === 'string' && name !== '' ? name : 'anonymous';
}

function isPlainObject(v: unknown): v is object {
  if (!isInspectable(v) || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A tensor, asked without touching a Proxy (`instanceof` is one of its traps). */
function isTensor(v: unknown): v is Tensor {
  return isInspectable(v) && v instanceof Tensor;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** The path of `key` under `path`, as JavaScript reads it: `opts.scale`, `xs[1]`, `cfg["a-b"]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** An object's own property names, non-enumerable ones included (the code may read those too). */
function keysOf(o: object): string[] {
  return Object.getOwnPropertyNames(o);
}

function sameKeys(o: object, keys: readonly string[]): boolean {
  const actual = keysOf(o);
  if (actual.length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) if (actual[i] !== keys[i]) return false;
  return true;
}

interface Builder {
  containers: Getter[];
  guards: Guard[];
  fast: ((r: Roots) => boolean)[];
  leaves: TensorLeaf[];
  numbers: NumberLeaf[];
  integers: NumberLeaf[];
  opaque: OpaqueLeaf[];
  dynamic: DynamicPolicy;
  seen: Set<object>;
  /** Some tensor input requires grad. */
  requiresGrad: boolean;
}

function add(
  b: Builder,
  kind: GuardKind,
  path: string,
  text: string,
  expected: string,
  get: Getter,
  check: (v: unknown) => boolean,
  actual: (v: unknown) => string = describeValue,
  dim?: number,
): void {
  b.guards.push({
    kind,
    path,
    text,
    expected,
    check: (r) => check(get(r)),
    actual: (r) => actual(get(r)),
    ...(dim === undefined ? {} : { dim }),
  });
}

function tensorGuards(b: Builder, t: Tensor, path: string, get: Getter): void {
  const dynamic = b.dynamic.dims(path, t);
  const { dtype, device } = t;
  const rank = t.ndim;
  // -1: dynamic (any size >= 2)
  const expected = t.shape.map((s, d) => (dynamic.includes(d) ? -1 : s));
  const contiguous = views.isContiguous(t.layout);
  const asTensor = (v: unknown) => v as Tensor;
  add(b, 'type', path, `${path} is a Tensor`, 'a Tensor', get, isTensor);
  add(
    b,
    'dtype',
    path,
    `${path}.dtype == '${dtype}'`,
    `'${dtype}'`,
    get,
    (v) => asTensor(v).dtype === dtype,
    (v) => `'${asTensor(v).dtype}'`,
  );
  add(
    b,
    'device',
    path,
    `${path}.device == '${device}'`,
    `'${device}'`,
    get,
    (v) => asTensor(v).device === device,
    (v) => `'${asTensor(v).device}'`,
  );
  add(
    b,
    'rank',
    path,
    `${path}.ndim == ${rank}`,
    String(rank),
    get,
    (v) => asTensor(v).ndim === rank,
    (v) => String(asTensor(v).ndim),
  );
  expected.forEach((e, d) => {
    const text = e < 0 ? `${path}.shape[${d}] >= 2 (dynamic)` : `${path}.shape[${d}] == ${e}`;
    add(
      b,
      'size',
      path,
      text,
      e < 0 ? '>= 2' : String(e),
      get,
      (v) => {
        const s = asTensor(v).shape[d]!;
        return e < 0 ? s >= 2 : s === e;
      },
      (v) => String(asTensor(v).shape[d]),
      d,
    );
  });
  add(
    b,
    'layout',
    path,
    `${path} is ${contiguous ? '' : 'not '}contiguous`,
    contiguous ? 'contiguous' : 'not contiguous',
    get,
    (v) => views.isContiguous(asTensor(v).layout) === contiguous,
    (v) => (views.isContiguous(asTensor(v).layout) ? 'contiguous' : 'not contiguous'),
  );
  const grad = requiresGradGuard(b, t, path, get);
  b.fast.push((r) => {
    const v = get(r);
    if (!isTensor(v) || v.dtype !== dtype || v.device !== device) return false;
    const shape = v.shape;
    if (shape.length !== rank) return false;
    for (let d = 0; d < rank; d++) {
      const e = expected[d]!;
      const s = shape[d]!;
      if (e < 0 ? s < 2 : s !== e) return false;
    }
    return views.isContiguous(v.layout) === contiguous && v.requiresGrad === grad;
  });
  b.leaves.push({ path, get, dynamicDims: dynamic });
}

/**
 * Whether a tensor requires grad decides whether the graph is compiled for
 * training (a forward that saves what its backward needs) or not; returns
 * what it is now.
 */
function requiresGradGuard(b: Builder, t: Tensor, path: string, get: Getter): boolean {
  const grad = t.requiresGrad;
  add(
    b,
    'grad',
    path,
    `${path}.requiresGrad == ${grad}`,
    String(grad),
    get,
    (v) => isTensor(v) && v.requiresGrad === grad,
    (v) => (isTensor(v) ? String(v.requiresGrad) : describeValue(v)),
  );
  b.requiresGrad ||= grad;
  return grad;
}

/** Grad mode, when some input requires grad (else it changes nothing): it decides whether results get a backward. */
function gradModeGuard(b: Builder): void {
  if (!b.requiresGrad) return;
  const on = isGradEnabled();
  const text = `grad mode is ${on ? 'on' : 'off (noGrad)'}`;
  b.guards.push({
    kind: 'grad',
    path: 'grad mode',
    text,
    expected: on ? 'on' : 'off',
    check: () => isGradEnabled() === on,
    actual: () => (isGradEnabled() ? 'on' : 'off'),
  });
  b.fast.push(() => isGradEnabled() === on);
}

function identity(b: Builder, kind: GuardKind, path: string, get: Getter, o: object, label: string): void {
  const ref = new WeakRef(o);
  const text = `${path} is ${label}`;
  add(b, kind, path, text, label, get, (v) => v === ref.deref());
  b.fast.push((r) => get(r) === ref.deref());
}

/** Guards that `get` still gives something guards cannot look into (a getter): the entry re-runs, and the function's own read runs it. */
function hidden(b: Builder, path: string, get: Getter): void {
  add(b, 'structure', path, `${path} is a getter`, 'a getter', get, (x) => x === HIDDEN);
  b.fast.push((r) => get(r) === HIDDEN);
  b.opaque.push({ path, what: 'a getter' });
}

/**
 * The kind of object whose state guards can see in its own fields: null
 * for an instance of classes written in JavaScript (every prototype below
 * Object.prototype is a class's or a function's with source, none with
 * private members); else what it is (`a Map`, `a Counter, whose class has
 * private members`).
 */
function instanceProblem(o: object): string | null {
  for (
    let p = Object.getPrototypeOf(o) as object | null;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    if (isProxy(p)) return 'an object with a Proxy prototype';
    const d = Object.getOwnPropertyDescriptor(p, 'constructor');
    const ctor = d && 'value' in d ? (d.value as unknown) : undefined;
    if (typeof ctor !== 'function' || isProxy(ctor) || isNative(ctor as AnyFunction)) return typeName(o);
    if (hasPrivateMembers(ctor as AnyFunction)) return `${typeName(o)}, whose class has private members`;
  }
  return null;
}

type AnyFunction = (...args: never[]) => unknown;

/**
 * Guards `v` at `path`. `methods`: `v` is a module or inside one or inside
 * a class instance, where a function is code the source analysis reads
 * when it is called (see ./code), not an opaque input.
 */
function walk(b: Builder, v: unknown, path: string, get: Getter, methods: boolean): void {
  if (v === HIDDEN) {
    hidden(b, path, get);
    return;
  }
  if ((typeof v === 'object' || typeof v === 'function') && v !== null && isProxy(v)) {
    add(
      b,
      'type',
      path,
      `${path} is a Proxy`,
      'a Proxy',
      get,
      (x) => (typeof x === 'object' || typeof x === 'function') && x !== null && isProxy(x),
    );
    b.fast.push((r) => {
      const x = get(r);
      return (typeof x === 'object' || typeof x === 'function') && x !== null && isProxy(x);
    });
    b.opaque.push({ path, what: 'a Proxy' });
    return;
  }
  if (v instanceof Tensor) {
    tensorGuards(b, v, path, get);
    return;
  }
  if (typeof v === 'number' && b.dynamic.number(path, v)) {
    add(b, 'value', path, `${path} is an integer >= 2 (dynamic)`, 'an integer >= 2', get, isDynamicInt);
    b.fast.push((r) => isDynamicInt(get(r)));
    b.numbers.push({ path, get });
    return;
  }
  if (v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')) {
    if (Number.isInteger(v)) b.integers.push({ path, get });
    const text = `${path} == ${describeValue(v)}`;
    add(b, 'value', path, text, describeValue(v), get, (x) => Object.is(x, v));
    b.fast.push((r) => Object.is(get(r), v));
    return;
  }
  if (typeof v === 'symbol') {
    add(
      b,
      'value',
      path,
      `${path} == ${String(v)}`,
      String(v),
      get,
      (x) => x === v,
      (x) => String(x),
    );
    b.fast.push((r) => get(r) === v);
    return;
  }
  if (typeof v === 'function') {
    identity(b, 'identity', path, get, v, describeValue(v));
    // A module's methods are its code, read by the source analysis when forward calls them; an argument that is a function is not.
    if (!methods) b.opaque.push({ path, what: `a function (${functionName(v)})` });
    return;
  }
  const o = v as object;
  if (b.seen.has(o)) {
    identity(b, 'identity', path, get, o, describeValue(o));
    b.opaque.push({ path, what: 'a cyclic reference' });
    return;
  }
  b.seen.add(o);
  if (Array.isArray(o) || isPlainObject(o)) b.containers.push(get);
  if (Array.isArray(o)) {
    const n = o.length;
    const ok = (x: unknown) => isInspectable(x) && Array.isArray(x) && x.length === n;
    add(b, 'structure', path, `${path} is an array of length ${n}`, `an array of length ${n}`, get, ok);
    b.fast.push((r) => ok(get(r)));
    for (let i = 0; i < n; i++) walk(b, readData(o, i), childPath(path, i), (r) => readData(get(r), i), methods);
    b.seen.delete(o);
    return;
  }
  const plain = isPlainObject(o);
  const problem = plain ? null : instanceProblem(o);
  if (problem === null) {
    // A plain object or a class instance: its fields are its state. A class's own getters run when the code reads them (`this.scale`): guards cannot tell which it reads, so none is skipped.
    const keys = keysOf(o);
    const proto = Object.getPrototypeOf(o) as object | null;
    const kind = plain ? '' : `${typeName(o)} with `;
    const text = `${path} ${plain ? 'has ' : `is ${kind}`}keys [${keys.join(', ')}]`;
    const ok = (x: unknown) =>
      isInspectable(x) && typeof x === 'object' && (plain ? isPlainObject(x) : Object.getPrototypeOf(x) === proto) && sameKeys(x, keys);
    add(b, 'structure', path, text, `${kind}keys [${keys.join(', ')}]`, get, ok, (x) =>
      isInspectable(x) ? `${plain ? '' : `${typeName(x)} with `}keys [${keysOf(x).join(', ')}]` : describeValue(x),
    );
    b.fast.push((r) => ok(get(r)));
    const inherited = plain ? null : inheritedAccessor(o);
    if (inherited !== null) b.opaque.push({ path, what: `an object whose class has the getter \`${inherited}\`` });
    for (const k of keys) walk(b, readData(o, k), childPath(path, k), (r) => readData(get(r), k), methods || !plain);
  } else {
    const proto = Object.getPrototypeOf(o) as object | null;
    const ok = (x: unknown) => isInspectable(x) && typeof x === 'object' && Object.getPrototypeOf(x) === proto;
    add(b, 'type', path, `${path} is ${problem}`, problem, get, ok, (x) => (isInspectable(x) ? typeName(x) : describeValue(x)));
    b.fast.push((r) => ok(get(r)));
    b.opaque.push({ path, what: problem });
  }
  b.seen.delete(o);
}

/** Adds guards for inputs other than the arguments (closure variables, see ./closure) to a spec being built. */
export interface GuardWriter {
  /** Guards `v` as an argument is guarded: tensors by dtype, device and sizes, primitives by value, arrays and plain objects by structure, others by type (those make the entry re-run). */
  walk(v: unknown, path: string, get: Getter): void;
  /** Guards that `get` gives `o` itself. */
  identity(o: object, path: string, get: Getter): void;
  /** Guards that `get` gives an object of `o`'s kind: a plain object, an array, or one with `o`'s prototype (its fields are guarded separately). */
  sameType(o: object, path: string, get: Getter): void;
}

function sameType(b: Builder, o: object, path: string, get: Getter): void {
  const array = Array.isArray(o);
  const plain = !array && isPlainObject(o);
  const proto = Object.getPrototypeOf(o) as object | null;
  const label = array ? 'an array' : typeName(o);
  const ok = (x: unknown) =>
    isInspectable(x) && typeof x === 'object' && (array ? Array.isArray(x) : plain ? isPlainObject(x) : Object.getPrototypeOf(x) === proto);
  add(b, 'type', path, `${path} is ${label}`, label, get, ok, (x) => (isInspectable(x) ? typeName(x) : describeValue(x)));
  b.fast.push((r) => ok(get(r)));
}

/** The argument paths: parameter names where the source gives them, else `args[i]`. */
function argPath(params: readonly ParamName[], i: number): string {
  const restAt = params.findIndex((p) => p.rest);
  if (restAt >= 0 && i >= restAt) return `${params[restAt]!.name ?? 'args'}[${i - restAt}]`;
  return params[i]?.name ?? `args[${i}]`;
}

/**
 * The spec and guards of a call: `roots.args` under the parameter names,
 * and, for a module, its fields under `model` (its tensors, parameters,
 * guarded like any tensor and read fresh) and its `forward` by identity.
 */
export function inputSpec(
  roots: Roots,
  params: readonly ParamName[],
  module: boolean,
  dynamic: DynamicPolicy,
  extra?: (w: GuardWriter) => void,
): InputSpec {
  const b: Builder = {
    containers: [],
    guards: [],
    fast: [],
    leaves: [],
    numbers: [],
    integers: [],
    opaque: [],
    dynamic,
    seen: new Set(),
    requiresGrad: false,
  };
  const n = roots.args.length;
  add(
    b,
    'arity',
    'args',
    `called with ${n} argument${n === 1 ? '' : 's'}`,
    String(n),
    (r) => r.args.length,
    (x) => x === n,
    (x) => String(x),
  );
  b.fast.push((r) => r.args.length === n);
  roots.args.forEach((v, i) => walk(b, v, argPath(params, i), (r) => r.args[i], false));
  if (module) {
    const self = roots.self;
    walk(b, self, 'model', (r) => r.self, true);
    // A forward on its class (an own one is a field, walked above): guarded by identity, read as data.
    const forward = isInspectable(self) && !Object.hasOwn(self as object, 'forward') ? readData(self, 'forward') : undefined;
    if (typeof forward === 'function')
      identity(b, 'identity', 'model.forward', (r) => readData(r.self, 'forward'), forward, describeValue(forward));
    else if (forward === HIDDEN) hidden(b, 'model.forward', (r) => readData(r.self, 'forward'));
  }
  extra?.({
    walk: (v, path, get) => walk(b, v, path, get, false),
    identity: (o, path, get) => identity(b, 'identity', path, get, o, describeValue(o)),
    sameType: (o, path, get) => sameType(b, o, path, get),
  });
  aliasGuard(b, roots);
  gradModeGuard(b);
  const dynamicLeaves = b.leaves.filter((l) => l.dynamicDims.length > 0);
  return {
    guards: new GuardSet(b.guards, b.fast, dynamicLeaves, b.numbers),
    tensorLeaves: b.leaves,
    numberLeaves: b.numbers,
    integerLeaves: b.integers,
    opaque: b.opaque,
    containers: b.containers,
  };
}

/**
 * Tensor inputs (arguments, module fields, closure variables) that were the
 * same object must be again, and distinct ones distinct (a graph has one
 * input per object).
 */
function aliasGuard(b: Builder, roots: Roots): void {
  const leaves = b.leaves;
  const n = leaves.length;
  if (n < 2) return;
  const gets = leaves.map((l) => l.get);
  /** For each tensor, the index of the first that is the same object (-1: itself). */
  const pattern = (r: Roots): number[] => {
    const ts = gets.map((g) => g(r));
    return ts.map((t, i) => (ts.indexOf(t) === i ? -1 : ts.indexOf(t)));
  };
  const expected = pattern(roots);
  const describe = (p: readonly number[]) => {
    const same = p.flatMap((j, i) => (j >= 0 ? [`${leaves[i]!.path} is ${leaves[j]!.path}`] : []));
    if (same.length > 0) return same.join(', ');
    const paths = leaves.map((l) => l.path);
    return n <= 8 ? `${paths.join(', ')} are distinct tensors` : `the ${n} tensors (${paths.slice(0, 4).join(', ')}, ...) are distinct`;
  };
  const text = describe(expected);
  // Checked on every call without allocating: values read once into a buffer emptied after (it must not keep tensors alive).
  const values: unknown[] = new Array(n).fill(undefined);
  const firsts = new Map<unknown, number>();
  const matches = (r: Roots) => {
    try {
      for (let i = 0; i < n; i++) values[i] = gets[i]!(r);
      for (let i = 0; i < n; i++) {
        let first = -1;
        if (n <= 16) {
          for (let j = 0; j < i; j++) {
            if (values[j] === values[i]) {
              first = j;
              break;
            }
          }
        } else {
          first = firsts.get(values[i]) ?? -1;
          if (first < 0) firsts.set(values[i], i);
        }
        if (first !== expected[i]) return false;
      }
      return true;
    } finally {
      values.fill(undefined);
      firsts.clear();
    }
  };
  b.guards.push({
    kind: 'alias',
    path: 'args',
    text,
    expected: text,
    check: matches,
    actual: (r) => {
      const p = pattern(r);
      return p.every((j) => j < 0) ? 'all distinct' : describe(p);
    },
  });
  b.fast.push(matches);
}
