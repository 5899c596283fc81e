/** What the page shows, kept on `window.kilnExample` for tests and tools (the headless-browser test reads it). */
import type { Device } from '@kiln/eager';

export interface ExampleResult {
  name: string;
  size: string;
  eager: number[];
  compiled: number[];
  /** max |compiled - eager| / (1e-5 + 1e-4 |eager|): at most 1 within float32's tolerance. */
  worst: number;
  eagerMs: number;
  compiledMs: number;
  firstCallMs: number;
  mode: string;
  modeReason: string;
  kernels: number;
  ops: number;
}

export interface PageState {
  done: boolean;
  device?: Device;
  adapter?: string;
  noWebGpu?: string;
  results: ExampleResult[];
  /** Where the cpu kernels ran: threads need a cross-origin isolated page (a SharedArrayBuffer). */
  cpu?: { isolated: boolean; threads: number; workerSlices: number };
  error?: string;
}
