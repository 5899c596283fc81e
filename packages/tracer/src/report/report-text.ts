/**
 * Report text shared by the text and the HTML report: counts and bytes as
 * a person reads them, and what the partitioner chose for a graph compiled
 * for training.
 */
import type { ExplainTraining } from './explain-report';

/** `1 graph`, `3 graphs`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `1.2 KB`, `640 B`. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** What the partitioner chose, in a line or two a person reads. */
export function trainingSummary(t: ExplainTraining): string[] {
  const saved = t.saved.map((v) => `${v.op} ${v.type}`).join(', ');
  const counts = new Map<string, number>();
  for (const op of t.recomputed) counts.set(op, (counts.get(op) ?? 0) + 1);
  const recomputed = [...counts].map(([op, n]) => (n > 1 ? `${op} ×${n}` : op)).join(', ');
  return [
    `the forward saves ${plural(t.saved.length, 'value')} (${bytesText(t.savedBytes)}) for the backward${saved ? `: ${saved}` : ''}`,
    `the backward computes ${plural(t.recomputed.length, 'forward value')} again (${bytesText(t.recomputedBytes)} not saved)${recomputed ? `: ${recomputed}` : ''}`,
  ];
}
