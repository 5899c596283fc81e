/**
 * Checks of the values users pass to public entry points. A `Check` knows
 * what it accepts, in words, so every rejection reads the same:
 * `<op>: <argument> must be <what it accepts>, got <what was given>`, as a
 * KilnError, before any kernel runs. The op table's attribute schemas
 * (./ops/attr-checks) are built from these; creation functions, `F` and
 * the Tensor methods that convert arguments first use them directly.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Device } from './backend';
import { DEVICES } from './backend';
import type { DType, Scalar } from './dtype';
import { DTYPES } from './dtype';
import { numelOf, shapeStr } from './view';

/** A test of one value, and what it accepts in words ("an integer"). */
export interface Check<T> {
  readonly accepts: string;
  readonly test: (v: unknown) => v is T;
}

export function check<T>(accepts: string, test: (v: unknown) => boolean): Check<T> {
  return { accepts, test: test as (v: unknown) => v is T };
}

/** `v` if `c` accepts it; else a KilnError naming `op`, the argument `what`, the value and what is accepted. */
export function checkArg<T>(op: string, what: string, v: unknown, c: Check<T>): T {
  if (!c.test(v)) throw new KilnError(`${what} must be ${c.accepts}, got ${show(v)}`, { op });
  return v;
}

const isInt = (v: unknown): v is number => Number.isInteger(v);

export const INT = check<number>('an integer', isInt);
export const POSITIVE_INT = check<number>('a positive integer', (v) => isInt(v) && v > 0);
export const NON_NEGATIVE_INT = check<number>('a non-negative integer', (v) => isInt(v) && v >= 0);
/** Any JS number, NaN and ±Infinity included, as PyTorch takes any float (eps, scale, clamp bounds, correction). */
export const NUMBER = check<number>('a number', (v) => typeof v === 'number');
export const FINITE = check<number>('a finite number', Number.isFinite);
export const BOOL = check<boolean>('true or false', (v) => typeof v === 'boolean');
/** A JS scalar operand: numbers (NaN and ±Infinity included) and booleans, as PyTorch takes Python scalars. */
export const SCALAR = check<Scalar>('a number or a boolean', (v) => typeof v === 'number' || typeof v === 'boolean');
/** A slice bound: Python's clamping makes any integer valid, and ±Infinity means "to the end". */
export const BOUND = check<number>('an integer or ±Infinity', (v) => isInt(v) || v === Infinity || v === -Infinity);

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  const quoted = values.map((v) => `'${v}'`);
  const accepts = quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
  return check(accepts, (v) => (values as readonly unknown[]).includes(v));
}

export function nullable<T>(c: Check<T>, accepts = `${c.accepts} or null`): Check<T | null> {
  return check(accepts, (v) => v === null || c.test(v));
}

export function listOf<T>(item: Check<T>, accepts: string): Check<readonly T[]> {
  return check(accepts, (v) => Array.isArray(v) && v.every((x) => item.test(x)));
}

/** A shape: sizes of dims. */
export const SHAPE = listOf(NON_NEGATIVE_INT, 'a list of non-negative integers');
/** A target shape of reshape, view and expand: -1 is a size inferred (reshape) or kept (expand). */
export const TARGET_SHAPE = listOf(
  check<number>('', (v) => isInt(v) && v >= -1),
  'a list of integers >= -1 (-1: inferred or kept)',
);
export const DIMS = listOf(INT, 'a list of integers');
/** A reduction's or squeeze's `dim` (one dim arrives as a list of one). */
export const DIM_LIST = nullable(DIMS, 'an integer, a list of integers or null (every dim)');
export const DTYPE: Check<DType> = oneOf(DTYPES);
export const DEVICE: Check<Device> = oneOf(DEVICES);

/**
 * The most elements a tensor may have: int32 is the only integer dtype, so
 * positions (argmax, arange, gather indices) and the kernels' element
 * indices are 32-bit; a JS typed array cannot be much longer either.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Throws when `shape` (already checked to be a shape) has more elements than a tensor may hold. */
export function checkNumel(op: string, what: string, shape: readonly number[]): void {
  const n = numelOf(shape);
  if (n > MAX_ELEMENTS) {
    throw new KilnError(`${what} ${shapeStr(shape)} has ${n} elements, more than a tensor can hold (at most 2^31 - 1 = ${MAX_ELEMENTS})`, {
      op,
    });
  }
}

/**
 * An options object: undefined (no options) or a plain object whose keys are
 * among `keys`; a misspelt key is an error rather than silently ignored.
 * Values are checked by the caller.
 */
export function checkOptions<K extends string>(op: string, v: unknown, keys: readonly K[]): Partial<Record<K, unknown>> {
  if (v === undefined) return {};
  const isPlain = typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));
  if (!isPlain) throw new KilnError(`options must be an object with keys ${keys.join(', ')} (or omitted), got ${show(v)}`, { op });
  const unknown = Object.keys(v).find((k) => !(keys as readonly string[]).includes(k));
  if (unknown !== undefined) throw new KilnError(`unknown option '${unknown}' (accepted: ${keys.join(', ')})`, { op });
  return v as Partial<Record<K, unknown>>;
}

/** A short description of any value for error messages (never reads tensor data). */
export function show(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'string':
      return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
    case 'bigint':
      return `${v}n`;
    case 'function':
      return v.name ? `a function (${v.name})` : 'a function';
    case 'symbol':
      return v.toString();
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        if (depth > 2) return '[...]';
        const items = v.slice(0, 8).map((x) => show(x, depth + 1));
        return `[${items.join(',')}${v.length > 8 ? `,... (${v.length} items)` : ''}]`;
      }
      if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        // A Tensor names its dtype, shape and device; other objects that describe themselves, themselves.
        if ('describe' in v && typeof v.describe === 'function') return String(v.describe());
        return v.toString !== Object.prototype.toString ? v.toString() : `a ${v.constructor.name}`;
      }
      if (depth > 2) return '{...}';
      const entries = Object.entries(v)
        .slice(0, 6)
        .map(([k, x]) => `${k}: ${show(x, depth + 1)}`);
      return `{${entries.join(', ')}}`;
    }
    default:
      return String(v);
  }
}
