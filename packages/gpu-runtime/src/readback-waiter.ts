/**
 * Dawn's Node bindings spin the JS thread while a mapAsync promise is
 * pending; on a CPU device (lavapipe) that spin takes a core from the kernels
 * themselves. Measured here: a 43 ms kernel read back at once took 61 ms,
 * after a 20 ms sleep 44 ms. So a readback first sleeps for most of the time
 * the same readback (same pending dispatch count and size) took last time,
 * and only then maps. Short waits are not worth a timer (1 ms granularity).
 */
export class ReadbackWaiter {
  private readonly lastMs = new Map<string, number>();

  constructor(
    /** Fraction of the expected time to sleep; the rest is left to mapAsync. */
    private readonly fraction = 0.85,
    private readonly minSleepMs = 2,
  ) {}

  /** Sleeps if this readback is known to take long; returns the call to make once mapped. */
  async beforeMap(dispatches: number, bytes: number): Promise<() => void> {
    const key = `${dispatches}:${bytes}`;
    const start = performance.now();
    const sleep = (this.lastMs.get(key) ?? 0) * this.fraction;
    if (sleep >= this.minSleepMs) await new Promise((resolve) => setTimeout(resolve, sleep));
    return () => {
      if (this.lastMs.size > 1024) this.lastMs.clear(); // bounded; patterns re-learn in one call
      this.lastMs.set(key, performance.now() - start);
    };
  }
}
