/**
 * Dawn's Node bindings spin the JS thread while a mapAsync promise is
 * pending; on a CPU device (lavapipe) that spin takes a core from the kernels
 * themselves. Measured here: a 43 ms kernel read back at once took 61 ms,
 * after a 20 ms sleep 44 ms. So a readback first sleeps for most of the
 * shortest time the same kind of readback (after the same kernels, same
 * size) took recently, and only then maps. Taking the minimum keeps one slow
 * call (a busy machine) from making later ones oversleep. Two things would
 * still teach it a time the work does not take, and each made a compiled
 * step that followed a slow first call oversleep by seconds for many calls
 * (W6 on a cold shader cache: 3 s a call against 0.1 s): a readback whose
 * work waited on new pipelines (their compile is not the work's time: the
 * caller says not to learn), and an oversleep (mapped at once on waking:
 * the work took at most the time slept, maybe far less, so half of it is
 * learned, which finds a faster time in a few calls rather than shrinking
 * by `fraction` a call). Short waits are not worth a timer.
 */
/** Mapped within this long of waking: the work was done before (a readback of finished work maps in about 0.1 ms). */
const OVERSLEPT_MS = 1;

export class ReadbackWaiter {
  private readonly recent = new Map<string, number[]>();

  constructor(
    /** Fraction of the expected time to sleep; the rest is left to mapAsync. */
    private readonly fraction = 0.8,
    private readonly minSleepMs = 2,
    private readonly window = 4,
  ) {}

  /**
   * Sleeps if this readback is known to take long; returns the call to make
   * once mapped, which learns the time unless `learn` is false.
   */
  async beforeMap(work: string, bytes: number, learn = true): Promise<() => void> {
    const key = `${work}|${bytes}`;
    const start = performance.now();
    const seen = this.recent.get(key);
    const sleep = seen ? Math.min(...seen) * this.fraction : 0;
    const slept = sleep >= this.minSleepMs;
    if (slept) await new Promise((resolve) => setTimeout(resolve, sleep));
    const woke = performance.now();
    return () => {
      if (!learn) return;
      if (this.recent.size > 1024) this.recent.clear(); // bounded; patterns re-learn in one call
      const now = performance.now();
      const overslept = slept && now - woke < OVERSLEPT_MS;
      const times = this.recent.get(key) ?? [];
      times.push(overslept ? (now - start) / 2 : now - start);
      if (times.length > this.window) times.shift();
      this.recent.set(key, times);
    };
  }
}
