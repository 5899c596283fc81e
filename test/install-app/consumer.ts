// Type-checked against the installed .d.ts (tsc, moduleResolution nodenext):
// every public entry point, and lines that must not compile.

import { F, initWebGpu, randn, type Tensor } from '@kiln/eager';
import { acquireDevice, KilnError } from '@kiln/gpu-runtime';
import { compileGraph } from '@kiln/inductor';
import { compile, type ExplainReport, explain } from '@kiln/tracer';
import { kilnPlugin } from '@kiln/tracer/vite';

const mlp = (x: Tensor, w: Tensor): Tensor => F.gelu(F.linear(x, w));
const fast = compile(mlp);
const y: Tensor = fast(randn([2, 4]), randn([3, 4]));
const shape: readonly number[] = y.shape;
const report: ExplainReport = fast.explain();
const html: string = report.toHTML();
const explained = explain(mlp);
const device: Promise<GPUDevice> = acquireDevice().then((d) => d.device);
const plugin: { name: 'kiln'; enforce: 'post' } = kilnPlugin();
const init: () => Promise<unknown> = initWebGpu;
const error: Error = new KilnError('x');

export { compileGraph, device, error, explained, html, init, plugin, shape };

// @ts-expect-error: compile keeps fn's signature (two tensors)
fast(randn([2, 4]));
// @ts-expect-error: shape is numbers
const wrong: string = y.shape;

export { wrong };
