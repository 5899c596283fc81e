/**
 * The training example (examples/train): the character transformer trained
 * eagerly and with the whole step compiled (forward, loss, backward() and
 * AdamW's update in one compile), from one seed, gives the same losses on
 * every device, within the example's tolerance (LOSS_RTOL, relative, per
 * step; `pnpm demo:train` runs 200 steps with it), and the loss goes down.
 * The chart is a valid SVG with one line per curve.
 */
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import { LOSS_RTOL, lossChartSvg, train } from '../examples/train/src/index';

const devices = await devicesUnderTest();
const STEPS = 8;

describe.each(devices)('the training example on %s', (device) => {
  it(`eager and compiled training give the same loss curve over ${STEPS} steps, and it goes down`, async () => {
    const eager = await train({ device, steps: STEPS, compiled: false });
    const compiled = await train({ device, steps: STEPS, compiled: true });
    eager.forEach((e, i) => {
      if (!(Math.abs(compiled[i]! - e) <= LOSS_RTOL * Math.abs(e))) expect.fail(`step ${i}: compiled loss ${compiled[i]}, eager ${e}`);
    });
    expect(eager.at(-1)!).toBeLessThan(eager[0]! - 0.3);
  }, 900_000);
});

describe('the loss chart', () => {
  it('draws one path per curve, dashed where asked, and escapes labels', () => {
    const svg = lossChartSvg('a < b', [
      { label: 'eager', color: '#000', values: [3, 2, 1] },
      { label: 'compiled', color: '#111', values: [3, 2.5, 1], dashed: true },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<path d="M/g)).toHaveLength(2);
    expect(svg.match(/<path [^>]*stroke-dasharray/g)).toHaveLength(1);
    expect(svg).toContain('a &lt; b');
  });
});
