/**
 * Dawn in Node prints every WebGPU error nobody handled to stdout
 * ("validation:\n[Invalid ComputePipeline ...]"). kiln handles them all: each
 * becomes a KilnError, and its text is printed only under KILN_LOGS=webgpu
 * (to stderr). A child process, so its stdout can be read whole.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from './probe';

const gpu = await probeWebGpu();
const root = join(import.meta.dirname, '../../..');
const script = 'packages/gpu-runtime/src/testing/failing-kernels.ts';

function run(logs: string): { stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', KILN_LOGS: logs },
    timeout: 60_000,
  });
  if (child.status !== 0) throw new Error(`${script} exited with ${child.status}:\n${child.stderr}`);
  return { stdout: child.stdout, stderr: child.stderr };
}

describe('WebGPU errors', () => {
  it('stay off stdout: each becomes a KilnError with the WGSL or Dawn message', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const { stdout, stderr } = run('');
    const lines = stdout.trimEnd().split('\n');
    expect(lines, "stdout holds only the fixture's result line").toHaveLength(1);
    const [compile, usage] = JSON.parse(lines[0]!) as string[];
    expect(compile).toMatch(/'broken_kernel' failed to compile:[\s\S]*undefined_thing/);
    expect(usage).toMatch(/WebGPU reported an error: [\s\S]*bad_usage/);
    expect(stderr).not.toMatch(/\[kiln:webgpu\]/);
  });

  it('are printed under KILN_LOGS=webgpu, to stderr', (ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const { stdout, stderr } = run('webgpu');
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/\[kiln:webgpu\] GPUValidationError: [\s\S]*undefined_thing/);
    expect(stderr).toMatch(/\[kiln:webgpu\] GPUValidationError: [\s\S]*bad_usage/);
  });
});
