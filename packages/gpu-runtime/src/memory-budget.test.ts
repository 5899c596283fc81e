import { describe, expect, it } from 'vitest';
import { budgetFor, hostMemory, parseBudget } from './memory-budget';

const host = { total: 16 * 2 ** 30, cgroup: Infinity, addressSpaceLeft: Infinity };

describe('the device memory budget', () => {
  it('defaults to half of what limits the process most: physical memory, the cgroup, ulimit -v', () => {
    expect(budgetFor(host)).toBe(8 * 2 ** 30);
    expect(budgetFor({ ...host, cgroup: 4 * 2 ** 30 })).toBe(2 * 2 ** 30);
    expect(budgetFor({ ...host, addressSpaceLeft: 3 * 2 ** 30 })).toBe(1.5 * 2 ** 30);
    expect(budgetFor({ total: Infinity, cgroup: Infinity, addressSpaceLeft: Infinity })).toBe(Infinity);
  });

  it('reads bytes, binary sizes and shares of host memory', () => {
    expect(parseBudget('1048576')).toBe(2 ** 20);
    expect(parseBudget(12345)).toBe(12345);
    expect(parseBudget('512MiB')).toBe(512 * 2 ** 20);
    expect(parseBudget('512m')).toBe(512 * 2 ** 20);
    expect(parseBudget('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBudget('64KiB')).toBe(64 * 1024);
    expect(parseBudget('25%', host)).toBe(4 * 2 ** 30);
  });

  it('says what it could not read, and where it came from', () => {
    expect(() => parseBudget('lots', host, 'KILN_GPU_MEMORY_BUDGET')).toThrow(
      /cannot read KILN_GPU_MEMORY_BUDGET="lots": give bytes, a size such as 512MiB or 2GiB, or a share of host memory such as 25%/,
    );
    expect(() => parseBudget(0)).toThrow(/cannot read memoryBudget=0/);
    expect(() => parseBudget('-1GiB')).toThrow(/cannot read/);
  });

  it("finds this host's memory", async () => {
    const found = await hostMemory();
    expect(found.total).toBeGreaterThan(0);
    expect(Number.isFinite(found.total)).toBe(true);
    expect(found.cgroup).toBeGreaterThan(0);
    expect(found.addressSpaceLeft).toBeGreaterThanOrEqual(0);
  });
});
