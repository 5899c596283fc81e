import { type Tensor, tidy } from '@kiln/eager';

/**
 * Waits until `t` is computed by reading back one element: like
 * torch.cuda.synchronize(), it forces completion of all queued work without
 * timing a large copy to the host (readback is measured on its own in
 * device.bench.ts).
 */
export async function sync(t: Tensor): Promise<void> {
  if (t.numel === 0) return void (await t.data());
  const first = tidy(() => t.reshape([-1]).slice(0, 0, 1)); // views: freed, so t's memory is reusable at once
  await first.data();
  first.dispose();
}

/** A timed step: computes `fn` (intermediates freed), waits for the result, frees it. */
export function step(fn: () => Tensor): () => Promise<void> {
  return async () => {
    const y = tidy(fn);
    await sync(y);
    y.dispose();
  };
}
