/**
 * Dawn's Node bindings spin the JS thread while a mapAsync promise is
 * pending; on a CPU device (lavapipe) that spin takes a core from the kernels
 * themselves. Measured here: a 43 ms kernel read back at once took 61 ms,
 * after a 20 ms sleep 44 ms. So a readback first sleeps for most of the
 * shortest time the same kind of readback (after the same kernels, same
 * size) took recently, and only then maps. Taking the minimum keeps one slow
 * call (a first call, a busy machine) from making later ones oversleep, and
 * an oversleep shrinks the next sleep. Short waits are not worth a timer.
 */
export class ReadbackWaiter {
  private readonly recent = new Map<string, number[]>();

  constructor(
    /** Fraction of the expected time to sleep; the rest is left to mapAsync. */
    private readonly fraction = 0.8,
    private readonly minSleepMs = 2,
    private readonly window = 4,
  ) {}

  /** Sleeps if this readback is known to take long; returns the call to make once mapped. */
  async beforeMap(work: string, bytes: number): Promise<() => void> {
    const key = `${work}|${bytes}`;
    const start = performance.now();
    const seen = this.recent.get(key);
    const sleep = seen ? Math.min(...seen) * this.fraction : 0;
    if (sleep >= this.minSleepMs) await new Promise((resolve) => setTimeout(resolve, sleep));
    return () => {
      if (this.recent.size > 1024) this.recent.clear(); // bounded; patterns re-learn in one call
      const times = this.recent.get(key) ?? [];
      times.push(performance.now() - start);
      if (times.length > this.window) times.shift();
      this.recent.set(key, times);
    };
  }
}
