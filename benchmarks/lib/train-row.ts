/**
 * W8, training steps: one row per model (the W4 MLP, the W6 GPT-2 block)
 * and device. A step is forward, a mean-squared-error loss against a fixed
 * target, backward() and AdamW's update of every parameter; kiln eager
 * runs it as written, kiln compiled runs `compile(step)` (the whole step
 * in one graph), TensorFlow.js runs the same model with tf.variableGrads
 * and tf.train.adam (Optimizer.minimize) from kiln's initial parameters.
 *
 * Checked before timing: from one seed, after each of two steps, the
 * compiled step's loss and gradients equal eager's (kiln's tolerance), its
 * updated parameters too within what AdamW's step makes of that (see
 * difference), and tfjs's first loss equals kiln's (the workload's
 * peer tolerance). On webgpu the compiled cell's note gives the peak device
 * memory of a step, eager's and compiled's (see peakBytes).
 */
import { type Device, optim, type Tensor, tidy } from '@kiln/eager';
import type { GpuRuntime } from '@kiln/gpu-runtime';
import { callModel, parametersOf, type Workload } from '../workloads/workload';
import { allClose, describeCheck } from './check';
import { captureSummary } from './compiled';
import { isTfBackend, PEERS_OF, reason, type TfBackend } from './peer';
import { type Cell, KILN_TOLERANCE, message, type RowContext, type RowResult, summary } from './run-row';
import { step, sync } from './sync';
import type { TfPeers } from './tfjs';
import { timeColumns } from './timing';

const LR = 1e-3;

/** `workload`'s model on `device` with its parameters requiring grad, an AdamW over them, and its training step. */
function trainer(workload: Workload, device: Device, quick: boolean) {
  const inst = workload.make(device, quick);
  const params = parametersOf(inst.model);
  // The target: half the initial output, so that the loss and its gradients are far from zero.
  const target = tidy(() => callModel(inst.model, inst.args).mul(0.5));
  for (const p of Object.values(params)) p.requiresGrad_();
  const opt = new optim.AdamW(Object.values(params), { lr: LR });
  const trainStep = () =>
    tidy(() => {
      opt.zeroGrad();
      const loss = callModel(inst.model, inst.args).sub(target).square().mean();
      loss.backward();
      opt.step();
      return loss;
    });
  return { params, trainStep, target, tensors: [...inst.args, target, ...Object.values(params)] };
}

/**
 * The first difference between the compiled and the eager trainer's
 * gradients (kiln's tolerance) and parameters after `steps` steps, or
 * undefined. AdamW steps by lr · m / (sqrt(v) + eps), a direction that a
 * gradient known to within tolerance t fixes only to about t / |g|: each
 * step may move a parameter that much of lr further (at most 2 lr, a sign).
 */
async function difference(got: Record<string, Tensor>, want: Record<string, Tensor>, steps: number): Promise<string | undefined> {
  const { rtol, atol } = KILN_TOLERANCE;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name]!;
    if (!g.grad || !w.grad) return `the gradient of ${name}: ${g.grad ? 'none in eager' : 'none compiled'}`;
    const grad = Float32Array.from(await w.grad.data());
    const gradCheck = allClose(await g.grad.data(), grad, w.shape, KILN_TOLERANCE);
    if (!gradCheck.ok) return `the gradient of ${name}: ${describeCheck(gradCheck, w.numel)}`;
    const [a, b] = [await g.data(), await w.data()];
    for (let i = 0; i < b.length; i++) {
      const direction = Math.min(2, (2 * (atol + rtol * Math.abs(grad[i]!))) / Math.abs(grad[i]!));
      const allowed = atol + rtol * Math.abs(b[i]!) + steps * LR * direction;
      if (!(Math.abs(a[i]! - b[i]!) <= allowed)) {
        return `parameter ${name}: element ${i} is ${a[i]}, eager ${b[i]} (allowed ${allowed.toExponential(2)} after ${steps} AdamW steps)`;
      }
    }
  }
  return undefined;
}

/**
 * Peak device bytes of a training step (webgpu's buffer pool): a fresh
 * trainer, warmed by two steps, then the peak during a third above what
 * was live before the trainer existed. So it counts the model, its
 * gradients and optimizer state (the same for eager and compiled), the
 * step's intermediates, and what a compiled function keeps between calls
 * (its graphs' planned buffers).
 */
async function peakBytes(rt: GpuRuntime, workload: Workload, ctx: RowContext, compiled: boolean): Promise<number> {
  rt.flush();
  const before = rt.pool.stats().bytesLive;
  const t = trainer(workload, 'webgpu', ctx.quick);
  const run = compiled ? ctx.compiler.compile(t.trainStep) : t.trainStep;
  const once = async () => {
    const loss = run();
    await sync(loss);
    loss.dispose();
  };
  await once();
  await once();
  rt.pool.resetPeak();
  await once();
  const peak = rt.pool.stats().peakBytesLive - before;
  for (const p of Object.values(t.params)) p.grad?.dispose();
  for (const x of t.tensors) x.dispose();
  return peak;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function runTrainingRow(workload: Workload, device: Device, ctx: RowContext): Promise<RowResult> {
  const row: RowResult = {
    id: `W8-${workload.id}`,
    title: `${workload.title} training step`,
    size: workload.size(ctx.quick),
    device,
    cells: {},
    checks: {},
  };
  ctx.progress(`${row.id} ${row.title} ${row.size} on ${device}:`);
  const eager = trainer(workload, device, ctx.quick);
  const compiled = trainer(workload, device, ctx.quick);
  const fast = ctx.compiler.compile(compiled.trainStep);
  let firstLoss = 0;
  try {
    for (let s = 0; s < 2 && !row.failure; s++) {
      const started = performance.now();
      const got = fast();
      await sync(got);
      if (s === 0) row.firstCallMs = performance.now() - started;
      const want = eager.trainStep();
      const wanted = Float32Array.from(await want.data());
      if (s === 0) firstLoss = wanted[0]!;
      const check = allClose(await got.data(), wanted, [], KILN_TOLERANCE);
      row.checks.compiled = summary(check);
      const problem = check.ok ? await difference(compiled.params, eager.params, s + 1) : `the loss: ${describeCheck(check, 1)}`;
      if (problem) row.failure = `kiln compiled differs from kiln eager on ${device} (step ${s}): ${problem}`;
      for (const t of [got, want]) t.dispose();
    }
  } catch (error) {
    row.failure = `kiln compiled crashed on ${device}: ${message(error).split('\n')[0]}`;
  }
  if (row.failure) {
    row.cells.compiled = { missing: row.failure };
    ctx.progress(' COMPILED IS WRONG OR CRASHED\n');
    for (const t of [...eager.tensors, ...compiled.tensors]) t.dispose();
    return row;
  }
  const rt = device === 'webgpu' ? ctx.rt : undefined;
  const memory = rt ? [await peakBytes(rt, workload, ctx, false), await peakBytes(rt, workload, ctx, true)] : undefined;
  const timed = await timeColumns(
    [
      { key: 'eager', step: step(eager.trainStep) },
      { key: 'compiled', step: step(fast) },
    ],
    ctx.policy,
  );
  row.cells.eager = { timing: timed.eager };
  row.cells.compiled = {
    timing: timed.compiled,
    ...(memory ? { note: `peak device memory per step ${mib(memory[1]!)} (eager ${mib(memory[0]!)})` } : {}),
  };
  row.capture = captureSummary(fast);
  ctx.progress(` eager ${timed.eager.medianMs.toFixed(1)} ms · compiled ${timed.compiled.medianMs.toFixed(1)} ms`);
  for (const t of [...eager.tensors, ...compiled.tensors]) t.dispose();

  for (const column of PEERS_OF[device]) {
    const peer = ctx.peers.columns[column] ?? { missing: 'not loaded' };
    const tfjs = ctx.peers.tfjs;
    row.cells[column] =
      'missing' in peer
        ? peer
        : isTfBackend(column) && tfjs
          ? await tfjsCell(workload, device, column, tfjs, firstLoss, ctx)
          : { missing: `no training step written for ${peer.library} (W8 compares with TensorFlow.js)` };
    const cell = row.cells[column];
    ctx.progress(` · ${column} ${cell && 'timing' in cell ? `${cell.timing.medianMs.toFixed(1)} ms` : 'missing'}`);
  }
  ctx.progress('\n');
  return row;
}

/** tfjs's training step of `workload` from kiln's initial parameters, checked by its first loss, then timed. */
async function tfjsCell(
  workload: Workload,
  device: Device,
  backend: TfBackend,
  peers: TfPeers,
  kilnLoss: number,
  ctx: RowContext,
): Promise<Cell> {
  const { tf } = peers;
  await peers.use(backend);
  const inst = workload.make(device, ctx.quick);
  const target = tidy(() => callModel(inst.model, inst.args).mul(0.5));
  const toTf = async (t: Tensor) => tf.tensor(Float32Array.from(await t.data()), [...t.shape], 'float32');
  const made = [...(await Promise.all(inst.args.map(toTf))), await toTf(target)];
  const variables = Object.fromEntries(
    await Promise.all(Object.entries(parametersOf(inst.model)).map(async ([k, p]) => [k, tf.variable(await toTf(p))] as const)),
  );
  for (const t of [...inst.args, target, ...Object.values(parametersOf(inst.model))]) t.dispose();
  const y = made.at(-1)!;
  const forward = workload.tfjs(tf, made.slice(0, -1), variables);
  const opt = tf.train.adam(LR);
  // minimize() is tf.variableGrads, then applyGradients.
  const once = () => tf.tidy(() => opt.minimize(() => tf.mean(tf.square(tf.sub(forward(), y))), true)!);
  try {
    const first = once();
    const loss = (await first.data())[0]!;
    first.dispose();
    const check = allClose(Float32Array.of(loss), Float32Array.of(kilnLoss), [], workload.tfjsTolerance);
    if (!check.ok) return { missing: `its first loss ${loss} differs from kiln's ${kilnLoss}` };
    const tfjsStep = async () => {
      const l = once();
      await l.data();
      l.dispose();
    };
    return { timing: (await timeColumns([{ key: backend, step: tfjsStep }], ctx.policy))[backend] };
  } catch (error) {
    return { missing: `tfjs failed: ${reason(error)}` };
  } finally {
    tf.dispose([...made, ...Object.values(variables)]);
    opt.dispose();
  }
}
