/**
 * The autotune cache: what max-autotune measured fastest, per adapter and
 * per key (the caller's: a kernel's shape, dtype and layout). Node keeps it
 * in a JSON file (`$KILN_CACHE_DIR/autotune.json`, else
 * `node_modules/.cache/kiln/autotune.json`), a browser in memory: the
 * `#platform` split, so browser bundles never import node:fs.
 */
import { tuningStore } from '#platform';
import type { AdapterDescription } from './device';

/** The file's layout; another version is ignored (and replaced on the next write). */
interface TuningFile {
  version: 1;
  /** adapterKey -> key -> entry. */
  adapters: Record<string, Record<string, unknown>>;
}

/** One adapter's identity: the same GPU and driver measure the same. */
export function adapterKey(info: AdapterDescription): string {
  return [info.vendor, info.architecture, info.device, info.description].join(' | ');
}

function load(): TuningFile {
  try {
    const data = JSON.parse(tuningStore.read() ?? '{}') as Partial<TuningFile>;
    if (data.version === 1 && typeof data.adapters === 'object' && data.adapters !== null) return data as TuningFile;
  } catch {
    // A damaged file is as good as none: the entries are measured again.
  }
  return { version: 1, adapters: {} };
}

export const tuningCache = {
  /** Where the entries are kept (a file path, or memory). */
  where: (): string => tuningStore.where(),
  get(adapter: AdapterDescription, key: string): unknown {
    return load().adapters[adapterKey(adapter)]?.[key];
  },
  /** Stores an entry, merged into what is there now (another process may have added entries). */
  set(adapter: AdapterDescription, key: string, entry: unknown): void {
    const data = load();
    const id = adapterKey(adapter);
    data.adapters[id] = { ...data.adapters[id], [key]: entry };
    tuningStore.write(`${JSON.stringify(data, null, 1)}\n`);
  },
};
