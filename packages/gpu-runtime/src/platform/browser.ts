/**
 * The host as a browser sees it (`#platform` under the `browser` condition):
 * `navigator.gpu`, `navigator.deviceMemory`, no environment variables, and
 * an autotune cache in memory.
 * Nothing here imports a Node module, so browser bundles stay free of them.
 */
import type { HostMemory } from '../memory-budget';

interface BrowserNavigator {
  gpu?: GPU;
  /** GiB, rounded; Chromium only. */
  deviceMemory?: number;
}

function nav(): BrowserNavigator | undefined {
  return (globalThis as { navigator?: BrowserNavigator }).navigator;
}

/** The WebGPU entry point, or why there is none. */
export async function hostGpu(): Promise<GPU | string> {
  return nav()?.gpu ?? 'this browser has no navigator.gpu (WebGPU needs a secure context: https or localhost)';
}

export async function hostMemory(): Promise<HostMemory> {
  const gib = nav()?.deviceMemory;
  return { total: gib ? gib * 2 ** 30 : Infinity, cgroup: Infinity, addressSpaceLeft: Infinity };
}

let tuningText: string | undefined;

/** A browser keeps the autotune cache in memory: for the page's lifetime. */
export const tuningStore = {
  where: () => 'memory (this page)',
  read: (): string | undefined => tuningText,
  write(text: string): void {
    tuningText = text;
  },
};
