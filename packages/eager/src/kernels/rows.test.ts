import { describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import { devicesUnderTest } from '../testing/devices';
import { defaultRowStrategy } from './rows';

const devices = await devicesUnderTest();

// Rows of 300 in [2, 300] take the workgroup strategy (threads combine partials); rows of 4 one thread each.
const long = (at: Record<number, number>, fill = 0) => Array.from({ length: 300 }, (_, i) => at[i] ?? fill);

describe.each(devices)('argmax and argmin on %s: the first NaN wins, else the first extreme (as PyTorch)', (device) => {
  it('in short rows (a thread per row)', async () => {
    const x = tensor(
      [
        [-Infinity, -Infinity, -Infinity],
        [1, NaN, NaN],
        [3, 1, 3],
        [-0, 0, -0],
      ],
      { device },
    );
    expect(await x.argmax(1).toArray()).toEqual([0, 1, 0, 0]);
    expect(await x.argmin(1).toArray()).toEqual([0, 1, 1, 0]);
    const ints = tensor(
      [
        [-2147483648, -2147483648],
        [2147483647, 2147483647],
      ],
      { device, dtype: 'int32' },
    );
    expect(await ints.argmax(1).toArray()).toEqual([0, 0]);
    expect(await ints.argmin(1).toArray()).toEqual([0, 0]);
  });

  it('in long rows (partials combined across threads)', async () => {
    expect(defaultRowStrategy(2, 300)).toBe('workgroup');
    const x = tensor([long({ 250: 9, 290: 9, 10: -9, 200: -9 }), long({ 280: NaN, 270: NaN, 5: 9 })], { device });
    expect(await x.argmax(1).toArray()).toEqual([250, 270]);
    expect(await x.argmin(1).toArray()).toEqual([10, 270]);
    const flat = tensor([long({}, -Infinity), long({}, Infinity)], { device });
    expect(await flat.argmax(1).toArray()).toEqual([0, 0]);
    expect(await flat.argmin(1).toArray()).toEqual([0, 0]);
  });
});
