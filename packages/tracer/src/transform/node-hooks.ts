/**
 * Node's module load hook for the load-time transform (registered by
 * `@kiln/tracer/register`). It runs after the loaders registered before it
 * (tsx turns TypeScript into JavaScript first: `node --import tsx --import
 * @kiln/tracer/register app.ts`), rewrites the kiln compile calls of ES
 * modules, and chains the source maps so stack traces keep naming the
 * original lines. CommonJS modules are loaded by `require` without this
 * hook's say and are left as they are.
 */
import { fileURLToPath } from 'node:url';
import { TRACER_MODULE, transformKiln } from './transform';

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

type NextLoad = (url: string, context?: object) => Promise<LoadResult>;

const decoder = new TextDecoder();

function text(source: LoadResult['source']): string | null {
  if (source === null || source === undefined) return null;
  if (typeof source === 'string') return source;
  const bytes =
    source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return decoder.decode(bytes);
}

export async function load(url: string, context: object, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (result.format !== 'module' || !url.startsWith('file:')) return result;
  const code = text(result.source);
  if (code === null || !code.includes(TRACER_MODULE)) return result;
  try {
    const out = transformKiln(code, fileURLToPath(url), { sourceMap: 'inline' });
    return out ? { ...result, source: out.code } : result;
  } catch (e) {
    // The module still runs, untransformed: its compiled functions re-run their JavaScript (explain says why).
    console.warn(`[kiln] load-time transform skipped ${url}: ${e instanceof Error ? e.message : String(e)}`);
    return result;
  }
}
