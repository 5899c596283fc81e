/** What the bench page leaves on `window.kilnBench` for the Node driver (benchmarks/lib/in-browser.ts). */
import type { AdapterDescription } from '@kiln/gpu-runtime';
import type { RowResult } from '../lib/run-row';

export interface BrowserBenchState {
  done: boolean;
  userAgent: string;
  adapter?: AdapterDescription;
  features?: string[];
  tfjsVersion?: string;
  peersAvailable: string[];
  peersMissing: Record<string, string>;
  rows: RowResult[];
  error?: string;
}
