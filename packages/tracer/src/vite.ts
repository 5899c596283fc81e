/**
 * `kilnPlugin()`: the load-time transform as a Vite (or Rollup) plugin.
 *
 *   // vite.config.ts
 *   import { kilnPlugin } from '@kiln/tracer/vite';
 *   export default { plugins: [kilnPlugin()] };
 *
 * It runs after TypeScript and JSX are compiled (`enforce: 'post'`; in a
 * plain Rollup config, list it after the TypeScript plugin) and returns the
 * rewritten code with the map of its own step, which the bundler chains.
 * The plugin is a plain object: Vite is not a dependency of kiln.
 */

import type { SourceMapJSON } from './transform/source-map';
import { TRACER_MODULE, transformKiln } from './transform/transform';

export interface KilnPluginOptions {
  /** Module ids to transform (default: every JavaScript-like module that imports '@kiln/tracer'). */
  include?: RegExp | ((id: string) => boolean);
  /** Module ids to leave alone. */
  exclude?: RegExp | ((id: string) => boolean);
}

/** The part of a Rollup/Vite plugin context the plugin uses. */
export interface PluginContextLike {
  warn?(message: string): void;
  /** The map of the steps before this one: messages then name the lines of the original source. */
  getCombinedSourcemap?(): SourceMapJSON;
}

export interface KilnPlugin {
  readonly name: 'kiln';
  readonly enforce: 'post';
  transform(this: PluginContextLike | undefined, code: string, id: string): { code: string; map: SourceMapJSON } | null;
}

const SCRIPT = /\.(?:[cm]?[jt]sx?|vue|svelte|astro)$/;

function matches(filter: RegExp | ((id: string) => boolean), id: string): boolean {
  return typeof filter === 'function' ? filter(id) : filter.test(id);
}

export function kilnPlugin(options: KilnPluginOptions = {}): KilnPlugin {
  return {
    name: 'kiln',
    enforce: 'post',
    transform(code, id) {
      const file = id.split('?')[0]!;
      if (id.startsWith('\0') || !code.includes(TRACER_MODULE)) return null;
      if (options.include ? !matches(options.include, id) : !SCRIPT.test(file)) return null;
      if (options.exclude && matches(options.exclude, id)) return null;
      try {
        const inputMap = this && typeof this.getCombinedSourcemap === 'function' ? this.getCombinedSourcemap() : null;
        const out = transformKiln(code, file, { sourceMap: 'separate', inputMap });
        return out ? { code: out.code, map: out.map! } : null;
      } catch (e) {
        const message = `load-time transform skipped ${file}: ${e instanceof Error ? e.message : String(e)}`;
        if (this && typeof this.warn === 'function') this.warn(message);
        else console.warn(`[kiln] ${message}`);
        return null;
      }
    },
  };
}
