/**
 * kiln's subgroup kernels (the matmul's subgroup tiles) need a fixed
 * subgroup size S and subgroups made of consecutive invocations (lane l of
 * subgroup g is local invocation g * S + l): they give each subgroup a
 * block by `local_invocation_index / S`. WebGPU promises neither, so a
 * device gets them only where the adapter reports one size and a probe
 * kernel finds that layout.
 */

/** Invocations of the probe's workgroup: at least any subgroup tile's (MatmulTile). */
const PROBE_INVOCATIONS = 128;

const probeWgsl = (S: number) => `enable subgroups;
@group(0) @binding(0) var<storage, read_write> wrong: atomic<u32>;
@compute @workgroup_size(${PROBE_INVOCATIONS})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) size: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let first = subgroupBroadcast(lid, 0u);
  if (size != ${S}u || lane != lid % ${S}u || first != lid - lid % ${S}u) { atomicAdd(&wrong, 1u); }
}`;

/** The subgroup size kiln's subgroup kernels may assume on `device`, or undefined (see above). */
export async function checkedSubgroupSize(device: GPUDevice, info: GPUAdapterInfo): Promise<number | undefined> {
  const S = info.subgroupMinSize;
  if (!device.features.has('subgroups') || !S || S !== info.subgroupMaxSize) return undefined;
  if (device.limits.maxComputeInvocationsPerWorkgroup < PROBE_INVOCATIONS) return undefined;
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({
    label: 'kiln subgroup layout probe',
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: probeWgsl(S) }), entryPoint: 'main' },
  });
  const counter = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: counter } }] }),
  );
  pass.dispatchWorkgroups(2);
  pass.end();
  encoder.copyBufferToBuffer(counter, 0, staging, 0, 4);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  try {
    if (error) return undefined;
    await staging.mapAsync(GPUMapMode.READ);
    const wrong = new Uint32Array(staging.getMappedRange())[0];
    staging.unmap();
    return wrong === 0 ? S : undefined;
  } finally {
    counter.destroy();
    staging.destroy();
  }
}
