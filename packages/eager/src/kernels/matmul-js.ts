/**
 * The JS matmul template, eager's cpu kernel and the compiler's (with an
 * epilogue hook for the elementwise value fused after it). Per batch, four
 * rows of A at a time sweep B row by row (i-k-j order: each B element
 * loaded feeds four accumulator rows, and the inner loop runs over
 * contiguous memory); B is packed to contiguous rows first when it is read
 * through strides (a transposed weight), once for a B every batch shares.
 * float32 accumulates in float64 (one rounding, at the store); int32 wraps
 * as int32 arithmetic does.
 */

export interface MatmulJsTemplate {
  elementType: 'float32' | 'int32';
  /** Number of batches (a JS expression). */
  batches: string;
  /** Element offsets of batch `bt`'s matrices in A and in B (JS expressions in `bt`). */
  aBase: string;
  bBase: string;
  /**
   * Statements storing the result at batch `bt`, row `m`, column `n`,
   * given the product as the output holds it (a JS expression; float32:
   * rounded, so a sum beyond float32's range is Infinity, as eager stores
   * it before anything reads it).
   */
  store(acc: string): string[];
}

/** Rows of A per block. */
const ROWS = 4;

/**
 * The kernel's statements. They read from the enclosing scope: the sizes
 * `M`, `N`, `K`; the arrays `A` and `Bsrc`; A's strides along M and K
 * (`sam`, `sak`) and B's along K and N (`sbk`, `sbn`), in elements.
 */
export function renderMatmulJs(t: MatmulJsTemplate): string[] {
  const float = t.elementType === 'float32';
  const array = float ? 'Float32Array' : 'Int32Array';
  const madd = (a: string) => (float ? `${a} * bv` : `Math.imul(${a}, bv)`);
  const rows = Array.from({ length: ROWS }, (_, r) => r);
  return [
    `const acc = new ${float ? 'Float64Array' : 'Int32Array'}(${ROWS} * N);`,
    `const packed = sbn === 1 || N === 1 ? undefined : new ${array}(K * N);`,
    'let packedBase = -1;',
    `for (let bt = 0, batches = ${t.batches}; bt < batches; bt++) {`,
    `  const aBase = ${t.aBase};`,
    `  let B = Bsrc, bBase = ${t.bBase}, brs = sbk;`,
    '  if (packed) {',
    '    if (bBase !== packedBase) {',
    '      for (let kk = 0; kk < K; kk++) for (let n = 0; n < N; n++) packed[kk * N + n] = Bsrc[bBase + kk * sbk + n * sbn];',
    '      packedBase = bBase;',
    '    }',
    '    B = packed; bBase = 0; brs = N;',
    '  }',
    `  for (let m0 = 0; m0 < M; m0 += ${ROWS}) {`,
    `    const rows = Math.min(${ROWS}, M - m0);`,
    '    acc.fill(0);',
    '    for (let kk = 0; kk < K; kk++) {',
    '      const ak = aBase + m0 * sam + kk * sak;',
    '      // Missing rows of the last block multiply by 0 rather than branch in the inner loop.',
    `      const ${rows.map((r) => (r === 0 ? 'a0 = A[ak]' : `a${r} = rows > ${r} ? A[ak + ${r === 1 ? '' : `${r} * `}sam] : 0`)).join(', ')};`,
    '      const bk = bBase + kk * brs;',
    '      for (let n = 0; n < N; n++) {',
    '        const bv = B[bk + n];',
    `        ${rows.map((r) => `acc[${r === 0 ? '' : r === 1 ? 'N + ' : `${r} * N + `}n] += ${madd(`a${r}`)};`).join(' ')}`,
    '      }',
    '    }',
    '    for (let r = 0; r < rows; r++) {',
    '      const m = m0 + r;',
    '      for (let n = 0; n < N; n++) {',
    ...t.store(float ? 'Math.fround(acc[r * N + n])' : 'acc[r * N + n]').map((l) => `        ${l}`),
    '      }',
    '    }',
    '  }',
    '}',
  ];
}
