/**
 * Source maps of the load-time transform. The code the transform receives
 * may already be the output of another step (tsx or esbuild turning
 * TypeScript into JavaScript) and carry that step's map inline; the map of
 * the rewrite is then chained onto it (@jridgewell/remapping), so that
 * stack traces and graph-break locations still name the lines the user
 * wrote.
 */

import type { EncodedSourceMap } from '@jridgewell/remapping';
import remapping from '@jridgewell/remapping';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

/** A version 3 source map, as JSON. */
export interface SourceMapJSON {
  version: number;
  file?: string | null;
  sources: (string | null)[];
  sourcesContent?: (string | null)[] | null;
  names: string[];
  mappings: string;
  sourceRoot?: string;
}

/** `//# sourceMappingURL=data:application/json;base64,...` (last one in the file). */
const INLINE = /\/\/[#@] sourceMappingURL=data:application\/json(?:;charset=[\w-]+)?;base64,([A-Za-z0-9+/=]+)\s*$/;

/** The inline source map at the end of `code`, and where its comment starts; null if there is none (or it is unreadable). */
export function readInlineMap(code: string): { map: SourceMapJSON; start: number } | null {
  const m = INLINE.exec(code);
  if (!m) return null;
  try {
    const map = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as SourceMapJSON;
    if (map.version !== 3 || typeof map.mappings !== 'string') return null;
    return { map, start: m.index };
  } catch {
    return null;
  }
}

/** `map` as an inline comment. */
export function inlineComment(map: SourceMapJSON): string {
  return `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map), 'utf8').toString('base64')}`;
}

/** The map from `outer`'s generated code back through `inner` (which produced `outer`'s input) to the original source. */
export function chainMaps(outer: SourceMapJSON, inner: SourceMapJSON): SourceMapJSON {
  const chained = remapping([outer as EncodedSourceMap, inner as EncodedSourceMap], () => null);
  return JSON.parse(chained.toString()) as SourceMapJSON;
}

/** A place in the original source: its file (when the map names one), 1-based line, 0-based column, and the name written there if the map records one (a renamed identifier). */
export interface OriginalPosition {
  readonly source: string | null;
  readonly line: number;
  readonly column: number;
  readonly name: string | null;
}

/** Where positions of generated code came from, by the map of the step that generated it. */
export class OriginalPositions {
  private readonly trace: TraceMap;

  constructor(map: SourceMapJSON) {
    this.trace = new TraceMap(map as EncodedSourceMap);
  }

  /** The original place of generated line `line` (1-based), column `column` (0-based); null where the map says nothing. */
  at(line: number, column: number): OriginalPosition | null {
    const p = originalPositionFor(this.trace, { line, column });
    return p.line === null ? null : { source: p.source, line: p.line, column: p.column, name: p.name };
  }
}
