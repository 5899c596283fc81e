// Getters a compiled function reads: one on an object it closes over, one
// on its argument. test/closure-transform.test.ts loads this module through
// the load-time transform and checks that each getter runs once per call,
// as in the uncompiled function.
import { compile } from '@kiln/tracer';

export const reads = { cfg: 0, opts: 0 };
const cfg = {
  get scale() {
    return ++reads.cfg;
  },
};

export function scaled(x, opts) {
  return x.mul(cfg.scale).add(opts.shift);
}

export const fast = compile(scaled, { backend: 'eager' });

/** A fresh argument object whose getter counts its reads. */
export const options = () => ({
  get shift() {
    return 10 * ++reads.opts;
  },
});
