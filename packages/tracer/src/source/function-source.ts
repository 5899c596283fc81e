/**
 * A runtime function's own source (`fn.toString()`) and its AST. toString
 * gives an expression, an arrow, a method or a class method, none of which
 * parse alone, so each is wrapped in the smallest code that makes it an
 * expression. Both the side-effect analysis and closure guards read
 * functions this way, so they see the same tree.
 */

import type * as acorn from 'acorn';
import { parse } from 'acorn';
import type { FunctionNode } from './scope';

/** `fn.toString()`, or '' where even that throws (a revoked proxy). */
export function sourceOf(fn: (...args: never[]) => unknown): string {
  try {
    return Function.prototype.toString.call(fn);
  } catch {
    return '';
  }
}

/** Whether `source` is what toString gives for a native or bound function (`{ [native code] }`): not its code. */
export function isNativeSource(source: string): boolean {
  return /\{\s*\[native code\]\s*\}\s*$/.test(source);
}

/** Whether `fn` is native or bound: its source is not available. */
export function isNative(fn: (...args: never[]) => unknown): boolean {
  return isNativeSource(sourceOf(fn));
}

export interface ParsedFunction {
  readonly fn: FunctionNode;
  /** Characters of wrapping before the source: positions on its first line are shifted by this much. */
  readonly prefix: number;
}

/** Parses the text of a function expression, arrow, method or class method, whatever form toString gave; null if none parses. */
export function parseFunction(source: string): ParsedFunction | null {
  const forms: [string, string, (p: acorn.Program) => FunctionNode | undefined][] = [
    [
      '(',
      ')',
      (p) => {
        const s = p.body[0];
        const e = s?.type === 'ExpressionStatement' ? s.expression : undefined;
        return e && (e.type === 'FunctionExpression' || e.type === 'ArrowFunctionExpression') ? e : undefined;
      },
    ],
    [
      '({',
      '})',
      (p) => {
        const s = p.body[0];
        const prop = s?.type === 'ExpressionStatement' && s.expression.type === 'ObjectExpression' ? s.expression.properties[0] : undefined;
        return prop?.type === 'Property' && prop.value.type === 'FunctionExpression' ? prop.value : undefined;
      },
    ],
    [
      '(class { ',
      ' })',
      (p) => {
        const s = p.body[0];
        const m = s?.type === 'ExpressionStatement' && s.expression.type === 'ClassExpression' ? s.expression.body.body[0] : undefined;
        return m?.type === 'MethodDefinition' ? m.value : undefined;
      },
    ],
  ];
  for (const [open, close, pick] of forms) {
    try {
      // Locations: side-effect and break sites report lines.
      const program = parse(open + source + close, { ecmaVersion: 'latest', locations: true, sourceType: 'script' });
      if (program.body.length !== 1) continue;
      const fn = pick(program);
      if (fn) return { fn, prefix: open.length };
    } catch {
      // the next form
    }
  }
  return null;
}

const privateMembers = new WeakMap<object, boolean>();

/**
 * Whether the class `ctor` declares private members (`#w`): state kept
 * where only its own code can read it, so guards cannot. A constructor
 * whose source is not a class (a function) has none.
 */
export function hasPrivateMembers(ctor: (...args: never[]) => unknown): boolean {
  let found = privateMembers.get(ctor);
  if (found === undefined) {
    found = false;
    try {
      const program = parse(`(${sourceOf(ctor)})`, { ecmaVersion: 'latest', sourceType: 'script' });
      const s = program.body[0];
      const c = s?.type === 'ExpressionStatement' && s.expression.type === 'ClassExpression' ? s.expression : null;
      found = c?.body.body.some((m) => m.type !== 'StaticBlock' && m.key.type === 'PrivateIdentifier') ?? false;
    } catch {
      // not a class: no private members
    }
    privateMembers.set(ctor, found);
  }
  return found;
}
