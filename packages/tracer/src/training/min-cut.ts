/**
 * Minimum s-t cut of a directed graph with capacities (Infinity allowed),
 * by Dinic's max-flow: BFS levels, then blocking flows along them. What
 * the partitioner (./partition) cuts the joint graph with; its graphs have
 * a few thousand vertices at most.
 */

interface Arc {
  readonly to: number;
  cap: number;
  /** Index of the reverse arc in `to`'s list. */
  readonly rev: number;
}

export class FlowNetwork {
  private readonly arcs: Arc[][] = [];

  /** A new vertex's number. */
  vertex(): number {
    return this.arcs.push([]) - 1;
  }

  arc(from: number, to: number, cap: number): void {
    const a = this.arcs[from]!;
    const b = this.arcs[to]!;
    a.push({ to, cap, rev: b.length });
    b.push({ to: from, cap: 0, rev: a.length - 1 });
  }

  /**
   * Pushes a maximum flow from `s` to `t` and returns the vertices on the
   * source side of a minimum cut (those still reachable from `s`), with
   * the flow's value.
   */
  minCut(s: number, t: number): { sourceSide: Set<number>; value: number } {
    let value = 0;
    for (let level = this.levels(s); level[t]! >= 0; level = this.levels(s)) {
      const next = this.arcs.map(() => 0);
      for (
        let f = this.push(s, t, Number.POSITIVE_INFINITY, level, next);
        f > 0;
        f = this.push(s, t, Number.POSITIVE_INFINITY, level, next)
      ) {
        value += f;
        if (f === Number.POSITIVE_INFINITY) return { sourceSide: new Set(), value };
      }
    }
    const level = this.levels(s);
    const sourceSide = new Set<number>();
    level.forEach((l, v) => {
      if (l >= 0) sourceSide.add(v);
    });
    return { sourceSide, value };
  }

  /** BFS distances from `s` over arcs with capacity left (-1: unreachable). */
  private levels(s: number): number[] {
    const level = this.arcs.map(() => -1);
    level[s] = 0;
    const queue = [s];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const a of this.arcs[v]!) {
        if (a.cap > 0 && level[a.to]! < 0) {
          level[a.to] = level[v]! + 1;
          queue.push(a.to);
        }
      }
    }
    return level;
  }

  /** One augmenting path along increasing levels (iterative DFS with per-vertex arc pointers); the flow pushed. */
  private push(s: number, t: number, limit: number, level: readonly number[], next: number[]): number {
    const path: Arc[] = [];
    const stack = [s];
    while (stack.length > 0) {
      const v = stack.at(-1)!;
      if (v === t) {
        const f = path.reduce((m, a) => Math.min(m, a.cap), limit);
        for (const a of path) {
          a.cap -= f;
          this.arcs[a.to]![a.rev]!.cap += f;
        }
        return f;
      }
      const list = this.arcs[v]!;
      let advanced = false;
      while (next[v]! < list.length) {
        const a = list[next[v]!]!;
        if (a.cap > 0 && level[a.to] === level[v]! + 1) {
          path.push(a);
          stack.push(a.to);
          advanced = true;
          break;
        }
        next[v]!++;
      }
      if (!advanced) {
        // A dead end: never try it again in this phase.
        stack.pop();
        const back = path.pop();
        if (back && stack.length > 0) next[stack.at(-1)!]!++;
      }
    }
    return 0;
  }
}
