/**
 * The WGSL matmul template, eager's kernel and the compiler's (with an
 * epilogue hook for the elementwise value fused after it): a plan from the
 * operands' layouts (variant, tile, grid, metadata words) and the kernel
 * text for a plan.
 */
import { type GpuRuntime, KilnError } from '@kiln/gpu-runtime';
import { numelOf, type View } from '../view';
import { keepMasks, OPAQUE_ZERO_INIT } from '../wgsl';
import { kernelPrelude } from './prelude';

/**
 * Register blocking: each thread computes a `rows` x `cols` block of C and
 * keeps it in registers, reading A and B straight from storage (no workgroup
 * memory: on lavapipe, shared-memory tiling measured slower). `workgroup` is
 * the thread grid [x over columns, y over rows].
 *
 * With `subgroup` (the device's fixed subgroup size S), the block is a
 * subgroup's and `workgroup` counts subgroups: lane l keeps rows
 * `rows` of columns l, l + S, ... (cols / S of them), loads rows l, l + S,
 * ... of A's block and B's values of its own columns only, and takes the
 * other rows' A values from their lanes by subgroupBroadcast. On a CPU
 * implementation (lavapipe runs a subgroup as one 8-wide SIMD register)
 * every storage load is a per-lane scalar gather while a broadcast is one
 * register shuffle, so loading each value once per subgroup instead of once
 * per lane is what counts: 16x32 blocks reach about 40 GFLOP/s at 1024^3
 * there, against 7-12 for the per-thread tiles.
 */
export interface MatmulTile {
  rows: number;
  cols: number;
  workgroup: readonly [number, number];
  subgroup?: number;
}

/** What planning a matmul needs to know of the device. */
export interface MatmulDevice {
  maxWorkgroups: number;
  maxInvocations: number;
  /** The subgroup size where it is fixed and checked (GpuRuntime.subgroupSize): subgroup tiles are possible. */
  subgroupSize?: number;
  /** Subgroup tiles are the default (a CPU implementation: see MatmulTile), not only a max-autotune candidate. */
  preferSubgroups: boolean;
}

/** The matmul planner's view of `rt`'s device. */
export function matmulDevice(rt: GpuRuntime): MatmulDevice {
  return {
    maxWorkgroups: rt.limits.maxComputeWorkgroupsPerDimension,
    maxInvocations: rt.limits.maxComputeInvocationsPerWorkgroup,
    ...(rt.subgroupSize === undefined ? {} : { subgroupSize: rt.subgroupSize }),
    preferSubgroups: rt.subgroupSize !== undefined && rt.adapterInfo.isSoftware,
  };
}

/** Threads in a workgroup of `tile`. */
export const tileInvocations = (tile: MatmulTile) => tile.workgroup[0] * tile.workgroup[1] * (tile.subgroup ?? 1);

/** A subgroup tile of S lanes: 16 rows (S at least), 4 columns a lane, 4 subgroups a workgroup (measured best on lavapipe). */
const subgroupTile = (S: number, rows = Math.max(16, S), colsPerLane = 4, subgroups = 4): MatmulTile => ({
  rows,
  cols: colsPerLane * S,
  workgroup: [subgroups, 1],
  subgroup: S,
});

/** A tile as reports and cache keys spell it. */
export const describeTile = (t: MatmulTile) =>
  `${t.rows}x${t.cols} in ${t.workgroup.join('x')} workgroups${t.subgroup ? ` of ${t.subgroup}-lane subgroups` : ''}`;

/**
 * The per-thread tiles: the default where the device has no subgroup tiles
 * or is a GPU (on a CPU implementation with a checked subgroup size the
 * default is subgroupTile). Measured best here (lavapipe, 2 vCPU) among
 * per-thread tiles: the vec4 variant 8x8 per
 * thread in 8x8 workgroups (9.8 GFLOP/s at 1024^3; 4x4 gave 5.7); 'nt' 4x4 in
 * 16x16 (9.3 GFLOP/s for a 256x768 @ 768x3072 linear, where the scalar
 * variant it replaces gave 4.1; 8x8 gave 6.6); the scalar variants 4x4 in
 * 16x16 (larger blocks spill without vector loads).
 */
export const DEFAULT_TILES: Record<MatmulVariant, MatmulTile> = {
  vec4: { rows: 8, cols: 8, workgroup: [8, 8] },
  nt: { rows: 4, cols: 4, workgroup: [16, 16] },
  vecB: { rows: 4, cols: 4, workgroup: [16, 16] },
  scalar: { rows: 4, cols: 4, workgroup: [16, 16] },
};

/**
 * 'vec4': A and B row-major, both read as vec4. 'nt': B read column-wise
 * (a transposed weight, as in every linear layer): A's rows and B's columns
 * are both contiguous along K, read as vec4 and combined with dot products.
 * 'vecB': only B's rows as vec4. 'scalar': any strides (and int32).
 */
export type MatmulVariant = 'vec4' | 'nt' | 'vecB' | 'scalar';

/** What a matmul dispatch needs besides its buffers: the metadata words, the grid and the template variant. */
export interface MatmulLaunch {
  info: number[];
  tile: MatmulTile;
  grid: [number, number, number];
  variant: MatmulVariant;
}

type OperandView = Pick<View, 'shape' | 'strides' | 'offset'>;

/**
 * The metadata words of the template: M, N, K, the element offsets of A, B
 * and C, A's strides along M and K, B's along K and N (MATMUL_FIXED_WORDS),
 * then the batch shape, A's batch strides and B's batch strides.
 */
const MATMUL_FIXED_WORDS = 10;

/** How many metadata words the template reads for a batch of rank `batchRank` (the compiler's own follow them). */
export const matmulInfoWords = (batchRank: number) => MATMUL_FIXED_WORDS + 3 * batchRank;

function matmulInfo(a: OperandView, b: OperandView, outOffset: number, M: number, N: number, K: number): number[] {
  const rank = a.shape.length;
  const batch = rank - 2;
  return [
    M,
    N,
    K,
    a.offset,
    b.offset,
    outOffset,
    a.strides[batch]!,
    a.strides[batch + 1]!,
    b.strides[batch]!,
    b.strides[batch + 1]!,
    ...a.shape.slice(0, batch),
    ...a.strides.slice(0, batch),
    ...b.strides.slice(0, batch),
  ];
}

/** A template variant and its tile: what max-autotune chooses between. */
export interface MatmulChoice {
  variant: MatmulVariant;
  tile: MatmulTile;
}

/**
 * The variants the layouts of a [...B, M, K] and b [...B, K, N] allow, the
 * default (the one planMatmul picks) first; 'scalar' reads any layout.
 */
function matmulVariants(a: OperandView, b: OperandView, float = true): MatmulVariant[] {
  const rank = a.shape.length;
  const [K, N] = [a.shape[rank - 1]!, b.shape[rank - 1]!];
  // Vector loads need unit inner stride and 4-aligned rows and offsets (and floats).
  const aligned = (o: OperandView, inner: number) =>
    float && o.strides[rank - 1] === 1 && inner % 4 === 0 && o.offset % 4 === 0 && o.strides.slice(0, rank - 1).every((s) => s % 4 === 0);
  // B with unit stride along K (its transpose row-major): both operands stream along K.
  const alongK = (o: OperandView, inner: number) =>
    float &&
    o.strides[rank - 2] === 1 &&
    inner % 4 === 0 &&
    o.offset % 4 === 0 &&
    o.strides.filter((_, d) => d !== rank - 2).every((s) => s % 4 === 0);
  const [vecA, vecB, nt] = [aligned(a, K), aligned(b, N), alongK(b, K)];
  const allowed: [MatmulVariant, boolean][] = [
    ['vec4', vecA && vecB],
    ['nt', vecA && nt],
    ['vecB', vecB],
    ['scalar', true],
  ];
  return allowed.flatMap(([v, ok]) => (ok ? [v] : []));
}

/** Whether two tiles are the same (block and workgroup). */
export const sameTile = (x: MatmulTile, y: MatmulTile) => describeTile(x) === describeTile(y);

/**
 * Whether `tile` suits `variant`: the vec4-B variants store 4 columns per
 * vector; a subgroup tile needs whole rows per lane (and reads B per lane,
 * any variant but int32's).
 */
const tileFits = (variant: MatmulVariant, tile: MatmulTile) =>
  tile.subgroup
    ? tile.rows % tile.subgroup === 0 && tile.cols % tile.subgroup === 0
    : (variant !== 'vec4' && variant !== 'vecB') || tile.cols % 4 === 0;

/**
 * Tiles max-autotune tries for the default variant (the other variants the
 * layout allows are tried at their DEFAULT_TILES): register blocks of 4 and
 * 8 in workgroups of 64 to 256 threads.
 */
const TUNING_TILES: readonly MatmulTile[] = [
  { rows: 4, cols: 4, workgroup: [16, 16] },
  { rows: 4, cols: 4, workgroup: [8, 8] },
  { rows: 8, cols: 8, workgroup: [8, 8] },
  { rows: 4, cols: 8, workgroup: [16, 8] },
];

/** The default tile of `variant` on `device` (float operands). */
function defaultTile(variant: MatmulVariant, device: MatmulDevice, float: boolean): MatmulTile {
  return float && device.preferSubgroups && device.subgroupSize ? subgroupTile(device.subgroupSize) : DEFAULT_TILES[variant];
}

/** What max-autotune benchmarks for these layouts: the default choice first, each valid for them and within the device's threads a workgroup. */
export function matmulCandidates(a: OperandView, b: OperandView, device: MatmulDevice, float = true): MatmulChoice[] {
  const [first, ...others] = matmulVariants(a, b, float);
  const S = float ? device.subgroupSize : undefined;
  const subgroupTiles = S ? [subgroupTile(S), subgroupTile(S, 2 * Math.max(16, S)), subgroupTile(S, undefined, 2, 8)] : [];
  const chosen = defaultTile(first!, device, float);
  const tiles = [chosen, ...TUNING_TILES, DEFAULT_TILES[first!], ...subgroupTiles];
  const unique = tiles.filter((t, i) => tiles.findIndex((u) => sameTile(t, u)) === i);
  return [
    ...unique.map((tile) => ({ variant: first!, tile })),
    ...others.map((variant) => ({ variant, tile: DEFAULT_TILES[variant] })),
  ].filter((c) => tileFits(c.variant, c.tile) && tileInvocations(c.tile) <= device.maxInvocations);
}

/**
 * Plans a batched matmul of views a [...B, M, K] and b [...B, K, N] into a
 * dense output at `outOffset`: the variant the layouts allow, its tile
 * (unless given), the grid and the metadata words. A given variant (a tuned
 * choice) is used where these layouts allow it, else the default plan is.
 */
export function planMatmul(
  a: OperandView,
  b: OperandView,
  outOffset: number,
  device: MatmulDevice,
  float = true,
  given: Partial<MatmulChoice> = {},
): MatmulLaunch {
  const rank = a.shape.length;
  const [M, K] = [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const N = b.shape[rank - 1]!;
  const batchShape = a.shape.slice(0, rank - 2);
  const variants = matmulVariants(a, b, float);
  let variant: MatmulVariant;
  let tile: MatmulTile;
  if (given.variant && given.tile && variants.includes(given.variant) && tileFits(given.variant, given.tile)) {
    ({ variant, tile } = given as MatmulChoice);
  } else {
    // A given tile alone (eager's tests) keeps the vec4-B variants only where it stores whole vectors.
    const tileOnly = given.variant === undefined ? given.tile : undefined;
    variant = variants.find((v) => !tileOnly || tileFits(v, tileOnly))!;
    tile = tileOnly ?? defaultTile(variant, device, float);
  }
  const perWorkgroup = [tile.workgroup[0] * tile.cols, tile.workgroup[1] * tile.rows];
  const grid: [number, number, number] = [Math.ceil(N / perWorkgroup[0]!), Math.ceil(M / perWorkgroup[1]!), numelOf(batchShape)];
  if (grid.some((g) => g > device.maxWorkgroups)) {
    throw new KilnError(`grid ${grid.join('x')} exceeds ${device.maxWorkgroups} workgroups per dimension; reshape the batch`, {
      op: 'matmul',
    });
  }
  const info = matmulInfo(a, b, outOffset, M, N, K);
  return { info, grid, variant, tile };
}

/** A matmul kernel's source: the register-blocked template, optionally with an epilogue (the compiler's fusion). */
export interface MatmulTemplate {
  name: string;
  /** First line of the source (defaults to the eager kernel's). */
  comment?: string;
  tile?: MatmulTile;
  batchRank: number;
  variant: MatmulVariant;
  /** Declarations of more buffers the epilogue reads (bindings from 4 on). */
  extraBindings?: string;
  /**
   * Turns the accumulated product (a WGSL f32 expression) into the value
   * stored, with `batch`, `row` and `col` in scope; `lines` are statements
   * computing it.
   */
  epilogue?: (acc: string) => { lines: string[]; value: string };
  /** WGSL helper functions the epilogue's text calls. */
  helpers?: (text: string) => string[];
  /** Element type (int32 matmul uses the scalar variant). */
  elementType?: 'f32' | 'i32';
  /** Storage type of the output (defaults to the element type; an epilogue may compare, giving bool as u32). */
  outputType?: 'f32' | 'i32' | 'u32';
  /** Metadata words the epilogue reads after the template's own (the compiler's dynamic sizes). */
  extraInfoWords?: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Element offset of batch `batch` in A (which = 0) or B (1): the batch index unravelled over the batch shape. */
function batchOffset(which: 0 | 1, batchRank: number): string {
  const terms = range(batchRank).map((d) => {
    const dim = (e: number) => `info(${MATMUL_FIXED_WORDS + e}u)`;
    const inner = range(batchRank - 1 - d).map((e) => dim(d + 1 + e));
    const idx = inner.length ? `((batch / (${inner.join(' * ')})) % ${dim(d)})` : `(batch % ${dim(d)})`;
    return `${idx} * info(${MATMUL_FIXED_WORDS + batchRank * (1 + which) + d}u)`;
  });
  return terms.join(' + ') || '0u';
}

/** The loop and stores of a per-thread tile: `row0` and `col0` are the thread's block. */
function threadTileBody(t: MatmulTemplate, tile: MatmulTile, T: 'f32' | 'i32'): string[] {
  const { rows: TM, cols: TN } = tile;
  const V = TN / 4;
  const vecA = t.variant === 'vec4' || t.variant === 'nt';
  const vecB = t.variant !== 'scalar';
  let loop: string[];
  let accAt: (i: number, j: number) => string;
  if (t.variant === 'nt') {
    // Per 4 steps of k: a vec4 of each block row of A and of each block column of B, then dot products.
    loop = [
      `var acc: array<array<f32, ${TN}>, ${TM}>;`,
      ...range(TM).map((i) => `let aRow${i} = (aBase + min(row0 + ${i}u, M - 1u) * sam) / 4u;`),
      ...range(TN).map((j) => `let bCol${j} = (bBase + min(col0 + ${j}u, N - 1u) * sbn) / 4u;`),
      'for (var k = 0u; k < K; k += 4u) {',
      ...range(TM).map((i) => `  let av${i} = a4[aRow${i} + k / 4u];`),
      ...range(TN).map((j) => `  let bv${j} = b4[bCol${j} + k / 4u];`),
      ...range(TM).flatMap((i) => range(TN).map((j) => `  acc[${i}][${j}] = acc[${i}][${j}] + dot(av${i}, bv${j});`)),
      '}',
    ];
    accAt = (i, j) => `acc[${i}][${j}]`;
  } else if (vecA) {
    // Per 4 steps of k: one vec4 of A per block row, one vec4 of B per 4 block columns and k, vector FMAs.
    const fmas = range(TM).flatMap((i) =>
      range(V).map(
        (v) =>
          `acc[${i * V + v}] = fma(vec4f(av${i}.x), b0_${v}, fma(vec4f(av${i}.y), b1_${v}, fma(vec4f(av${i}.z), b2_${v}, fma(vec4f(av${i}.w), b3_${v}, acc[${i * V + v}]))));`,
      ),
    );
    loop = [
      `var acc: array<vec4f, ${TM * V}>;`,
      ...range(TM).map((i) => `let aRow${i} = (aBase + min(row0 + ${i}u, M - 1u) * sam) / 4u;`),
      'for (var k = 0u; k < K; k += 4u) {',
      ...range(TM).map((i) => `  let av${i} = a4[aRow${i} + k / 4u];`),
      ...range(4).flatMap((r) => range(V).map((v) => `  let b${r}_${v} = b4[(bBase + (k + ${r}u) * sbk + col0 + ${4 * v}u) / 4u];`)),
      ...fmas.map((f) => `  ${f}`),
      '}',
    ];
    accAt = (i, j) => `acc[${i * V + Math.floor(j / 4)}][${j % 4}]`;
  } else {
    const bLoads = vecB
      ? range(V).map((v) => `let b${v} = b4[(bRow + col0 + ${4 * v}u) / 4u];`)
      : range(TN).map((j) => `let b${j} = b[bRow + min(col0 + ${j}u, N - 1u) * sbn];`);
    const bAt = (j: number) => (vecB ? `b${Math.floor(j / 4)}[${j % 4}]` : `b${j}`);
    const madd = (x: string, y: string, acc: string) => (T === 'f32' ? `fma(${x}, ${y}, ${acc})` : `${x} * ${y} + ${acc}`);
    loop = [
      `var acc: array<array<${T}, ${TN}>, ${TM}>;`,
      ...range(TM).map((i) => `let aRow${i} = aBase + min(row0 + ${i}u, M - 1u) * sam;`),
      'for (var k = 0u; k < K; k++) {',
      ...range(TM).map((i) => `  let a${i} = a[aRow${i} + k * sak];`),
      '  let bRow = bBase + k * sbk;',
      ...bLoads.map((l) => `  ${l}`),
      ...range(TM).flatMap((i) => range(TN).map((j) => `  acc[${i}][${j}] = ${madd(`a${i}`, bAt(j), `acc[${i}][${j}]`)};`)),
      '}',
    ];
    accAt = (i, j) => `acc[${i}][${j}]`;
  }
  const stores = range(TM).flatMap((i) => range(TN).map((j) => store(t, accAt(i, j), `row0 + ${i}u`, `col0 + ${j}u`)));
  return [...loop, ...stores];
}

/** The guarded store of one element of C (through the epilogue, if any). */
function store(t: MatmulTemplate, acc: string, row: string, col: string): string {
  const ep = t.epilogue?.(acc);
  const body = ep ? [...ep.lines, `c[cBase + row * N + col] = ${ep.value};`] : [`c[cBase + row * N + col] = ${acc};`];
  return `if (${row} < M && ${col} < N) { let row = ${row}; let col = ${col}; ${body.join(' ')} }`;
}

/**
 * The loop and stores of a subgroup tile (see MatmulTile): `row0` and
 * `col0` are the subgroup's block, `lane` the thread's lane. Lanes past M
 * or N load clamped rows and columns and store nothing: every lane must run
 * the broadcasts. Per step of k (4 where A's rows are vec4s, else 1), lane
 * l loads A at rows l, l + S, ... and B at its columns, then each row's A
 * value is broadcast from its lane.
 */
function subgroupTileBody(t: MatmulTemplate, tile: MatmulTile, S: number): string[] {
  const { rows: TM, cols: TN } = tile;
  const [rowsPerLane, colsPerLane] = [TM / S, TN / S];
  const vecA = t.variant === 'vec4' || t.variant === 'nt';
  const KS = vecA ? 4 : 1;
  const aAt = (h: number, q: number) => (vecA ? `av${h}[${q}]` : `a${h}`);
  // 'nt': a column of B is contiguous along k, one vec4 a column per 4 steps; otherwise one load per step and column.
  const bAt = (q: number, c: number) => (t.variant === 'nt' ? `bv${c}[${q}]` : `b${q}_${c}`);
  const bLoads =
    t.variant === 'nt'
      ? range(colsPerLane).map((c) => `let bv${c} = b4[bCol${c} / 4u + k / 4u];`)
      : range(KS).flatMap((q) => range(colsPerLane).map((c) => `let b${q}_${c} = b[bCol${c} + (k + ${q}u) * sbk];`));
  const acc = (i: number, c: number) => `acc${i}_${c}`;
  const loop = [
    ...range(TM).map((i) =>
      range(colsPerLane)
        .map((c) => `var ${acc(i, c)} = 0.0;`)
        .join(' '),
    ),
    ...range(rowsPerLane).map((h) => `let aRow${h} = aBase + min(row0 + ${h * S}u + lane, M - 1u) * sam;`),
    ...range(colsPerLane).map((c) => `let bCol${c} = bBase + min(col0 + ${c * S}u + lane, N - 1u) * sbn;`),
    `for (var k = 0u; k < K; k += ${KS}u) {`,
    ...range(rowsPerLane).map((h) => (vecA ? `  let av${h} = a4[aRow${h} / 4u + k / 4u];` : `  let a${h} = a[aRow${h} + k * sak];`)),
    ...bLoads.map((l) => `  ${l}`),
    ...range(TM).flatMap((i) =>
      range(KS).map((q) => {
        const x = `subgroupBroadcast(${aAt(Math.floor(i / S), q)}, ${i % S}u)`;
        return `  { let x = ${x}; ${range(colsPerLane)
          .map((c) => `${acc(i, c)} = fma(x, ${bAt(q, c)}, ${acc(i, c)});`)
          .join(' ')} }`;
      }),
    ),
    '}',
  ];
  const stores = range(TM).flatMap((i) => range(colsPerLane).map((c) => store(t, acc(i, c), `row0 + ${i}u`, `col0 + ${c * S}u + lane`)));
  return [...loop, ...stores];
}

export function renderMatmulTemplate(t: MatmulTemplate): string {
  const tile = t.tile ?? DEFAULT_TILES[t.variant];
  const { rows: TM, cols: TN, subgroup: S } = tile;
  const [wx, wy] = tile.workgroup;
  const T = t.elementType ?? 'f32';
  if (T === 'i32' && t.variant !== 'scalar') throw new KilnError('int32 matmul uses the scalar variant', { op: 'matmul' });
  if (S && T !== 'f32') throw new KilnError('int32 matmul has no subgroup tiles', { op: 'matmul' });
  const vecA = t.variant === 'vec4' || t.variant === 'nt';
  // A subgroup tile reads B per lane, as vec4s only along k ('nt').
  const vecB = S ? t.variant === 'nt' : t.variant !== 'scalar';
  const bindings = `@group(0) @binding(1) var<storage, read> ${vecA ? 'a4: array<vec4f>' : `a: array<${T}>`};
@group(0) @binding(2) var<storage, read> ${vecB ? 'b4: array<vec4f>' : `b: array<${T}>`};
@group(0) @binding(3) var<storage, read_write> c: array<${t.outputType ?? T}>;
${t.extraBindings ?? ''}`;
  const text = (S ? subgroupTileBody(t, tile, S) : threadTileBody(t, tile, T)).join('\n');
  // A subgroup's block: the same row0 and col0 for all its lanes (consecutive invocations, which GpuRuntime checked). No early
  // return there: WGSL's uniformity analysis cannot see that it is uniform over a subgroup, and the broadcasts need all lanes.
  const position = S
    ? [
        `let lane = lid % ${S}u;`,
        `let sg = lid / ${S}u;`,
        `let row0 = (gid.y * ${wy}u + sg / ${wx}u) * ${TM}u;`,
        `let col0 = (gid.x / ${S * wx * wy}u * ${wx}u + sg % ${wx}u) * ${TN}u;`,
      ]
    : [`let row0 = gid.y * ${TM}u;`, `let col0 = gid.x * ${TN}u;`];
  const shape = S ? `${TM}x${TN} per subgroup of ${S}, workgroup ${wx}x${wy} subgroups` : `${TM}x${TN} per thread, workgroup ${wx}x${wy}`;
  return `// ${t.comment ?? `kiln eager kernel: ${t.name}`} (matmul ${shape}, ${t.variant})
${S ? 'enable subgroups;\n' : ''}${kernelPrelude(matmulInfoWords(t.batchRank) + (t.extraInfoWords ?? 0))}
${bindings}
${(t.helpers?.(text) ?? []).join('\n')}
@compute @workgroup_size(${S ? `${S * wx * wy}` : `${wx}, ${wy}`})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u${S ? ', @builtin(local_invocation_index) lid: u32' : ''}) {
  ${[OPAQUE_ZERO_INIT, ...keepMasks(text)].join('\n  ')}
  let M = info(0u); let N = info(1u); let K = info(2u);
  let sam = info(6u); let sak = info(7u); let sbk = info(8u); let sbn = info(9u);
  let batch = gid.z;
  let aBase = info(3u) + ${batchOffset(0, t.batchRank)};
  let bBase = info(4u) + ${batchOffset(1, t.batchRank)};
  let cBase = info(5u) + batch * M * N;
  ${position.join('\n  ')}
  ${S ? '' : 'if (row0 >= M || col0 >= N) { return; }'}
${text
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
}
`;
}
