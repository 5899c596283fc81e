/**
 * The explain report as data: what compiling a function produced — its
 * graphs (ops and kernels), its graph breaks (reason, location, code frame),
 * the guards of its cache entry, whether cache hits replay the graph or
 * re-run the JavaScript and why, and the time spent compiling.
 */
import type { KernelInfo } from '../backend';
import type { EntryMode } from '../cache/entry';
import type { PartitionReport } from '../training/partition';
import type { ExplainNode } from './graph-nodes';

export interface BreakReason {
  readonly reason: string;
  /** file:line:column of the user's code, when known. */
  readonly location: string | null;
  readonly codeFrame: string | null;
}

export interface ExplainGraph {
  /** Op names, in graph order. */
  readonly ops: readonly string[];
  /** What the backend made of it (the inductor's kernels; empty for other backends). */
  readonly kernels: readonly KernelInfo[];
  /** The graph, printed; dynamic sizes as symbols (`float32[s0,16]`), with the sizes it was traced at. */
  readonly graph: string;
  /** The graph's nodes as data (what the HTML report draws). */
  readonly nodes: readonly ExplainNode[];
  /** Time its first call took to trace it (run the JavaScript and record its ops) until the graph was built; none for a backward graph. */
  readonly traceMs?: number;
  /** Time the backend took to compile it. */
  readonly compileMs: number;
  /** Where that time went, by stage (the inductor: lower, schedule, render, pipelines). */
  readonly compileStages?: string;
  /** Where its kernels run (the inductor's target: 'wasm', 'js', 'webgpu'); kernels another target built say so in their `fallback`. */
  readonly target?: string;
  /** Set when the backend could not compile it and it runs op by op. */
  readonly note?: string;
  /**
   * The inductor's fusion decisions, with why: what got a buffer of its own
   * ("realize"), what was fused into what, and what was not ("not fused":
   * why it is a separate kernel).
   */
  readonly decisions: readonly string[];
  /** In-place writes into the caller's memory (inputs, closed-over tensors) this graph computed as values (functionalization), by what they write into. */
  readonly writes: readonly string[];
  /** The graph's symbolic sizes and what each stands for (`s0 = x.shape[1] (7 here)`). */
  readonly symbols: readonly string[];
  /**
   * Set when the graph's results require grad: it was compiled for
   * training, as a forward graph (the one above: what runs now) and a
   * backward graph (what `backward()` runs), with what the partitioner saved.
   */
  readonly training?: ExplainTraining;
}

/** A graph compiled for training: its backward, and what its forward saves for it and what the backward computes again. */
export interface ExplainTraining extends PartitionReport {
  readonly backward: ExplainGraph;
}

/** One cache entry of a compiled function: what a call that matches its guards does, and the graphs its first call ran. */
export interface ExplainEntry {
  readonly mode: EntryMode;
  readonly modeReason: string;
  readonly guards: readonly string[];
  readonly graphs: readonly ExplainGraph[];
  readonly breakReasons: readonly BreakReason[];
  /** Time the backend took to compile its graphs. */
  readonly compileMs: number;
}

export interface ExplainReport {
  readonly name: string;
  readonly graphCount: number;
  readonly graphBreakCount: number;
  readonly breakReasons: readonly BreakReason[];
  /** Op nodes over all graphs. */
  readonly opCount: number;
  /** The guards of the cache entry, as text. */
  readonly guards: readonly string[];
  /** What a cache hit does: replay the graph without the JavaScript, re-run the JavaScript with lazy tensors, or (past cacheSizeLimit graph variants) run `fn` eagerly. */
  readonly mode: EntryMode;
  /** Why that mode. */
  readonly modeReason: string;
  readonly graphs: readonly ExplainGraph[];
  /** Time spent in the backend compiling the graphs of every cache entry (each graph once). */
  readonly compileMs: number;
  /** Recompiles so far, with the guard that failed. */
  readonly recompiles: readonly string[];
  /** Every cache entry, in the order calls are checked against them (the fields above are those of the last call traced). */
  readonly entries: readonly ExplainEntry[];
  toString(): string;
  /** The report as one self-contained HTML page: each graph drawn by kernel, breaks, guards, recompiles, kernel sources, timings. */
  toHTML(): string;
}

/** The report without its methods: what the text and the HTML page are made from. */
export type ReportData = Omit<ExplainReport, 'toString' | 'toHTML'>;
