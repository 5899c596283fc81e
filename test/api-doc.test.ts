/**
 * docs/API.md lists every public Tensor method and property, every `F`
 * function and every export of @kiln/eager and @kiln/tracer, so the
 * reference cannot fall behind the code: adding a method without a row
 * fails here.
 */
import { readFileSync } from 'node:fs';
import * as eager from '@kiln/eager';
import * as tracer from '@kiln/tracer';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8');
/** Names written as code in the document (`add`, `F.relu(x, ...)`, `compile(fn)`): the identifier a code span starts with. */
const documented = new Set([...doc.matchAll(/`(?:F\.|await |t\.)*([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));

/** TypeScript-private members: on the prototype at run time, not API. */
const PRIVATE = new Set(['constructor', 'live', 'valuesNow', 'inPlace']);

describe('docs/API.md', () => {
  it('lists every public Tensor method and property', () => {
    const names = Object.getOwnPropertyNames(eager.Tensor.prototype).filter((n) => !PRIVATE.has(n));
    expect(names.filter((n) => !documented.has(n))).toEqual([]);
  });
  it('lists every F function', () => {
    expect(Object.keys(eager.F).filter((n) => !documented.has(n))).toEqual([]);
  });
  it('lists every export of @kiln/eager and @kiln/tracer', () => {
    expect([...Object.keys(eager), ...Object.keys(tracer)].filter((n) => !documented.has(n))).toEqual([]);
  });
});
