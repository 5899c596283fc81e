import fc from 'fast-check';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { checkProgram } from './testing/differential';

const devices = await devicesUnderTest();

describe.each(devices)('random graphs on %s', (device) => {
  it('compiled == eager for 300 random programs (pnpm fuzz runs 10k)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        expect(await checkProgram(seed, device)).toBeUndefined();
      }),
      { numRuns: 300, seed: 20261126 },
    );
  }, 300_000);
});
