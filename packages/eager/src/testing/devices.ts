import { hasBackend } from '../backend';
import type { Device } from '../backend';

/**
 * The devices the generated suites run on: cpu, plus every other device
 * whose backend has been registered before the suite is collected (a test
 * file or setup file that initializes webgpu first gets it checked too).
 */
export function devicesUnderTest(): Device[] {
  return (['cpu', 'webgpu'] as const).filter(hasBackend);
}
