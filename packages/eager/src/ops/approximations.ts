/**
 * Approximations kiln writes itself rather than call a builtin, each one
 * formula for every kernel language that uses it, accurate relative to the
 * value near the function's zero (where a builtin or textbook formula that is
 * accurate only in absolute terms loses the digits that erf(x)/x, tanh(x)/x,
 * log-probabilities and their gradients divide out).
 */

/**
 * erf (the JS and WGSL helper `kiln_erf`, the wasm vector form): on |x| <
 * ERF_SERIES_BELOW its Maclaurin series, accurate relative to erf itself
 * down to the subnormals (1 - erfc would cancel there); above, 1 - erfc(|x|)
 * by Numerical Recipes' erfc(z) ≈ t·exp(P(t) - z²), t = 1/(1 + z/2),
 * fractional error below 1.2e-7. Abramowitz-Stegun 7.1.26, used before, is
 * accurate to 1.5e-7 absolute only: erf(3e-30) was 1e-9.
 */
export const ERF_SERIES_BELOW = 0.5;

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** The series' coefficients 2/√π · (-1)^k / (k! (2k+1)), k = 5 down to 0 (Horner order, in s = x²); at |x| = 0.5 the next term is 3e-8 relative. */
export const ERF_SERIES = Array.from({ length: 6 }, (_, i) => {
  const k = 5 - i;
  return ((2 / Math.sqrt(Math.PI)) * (-1) ** k) / (factorial(k) * (2 * k + 1));
});

/** P(t) of erfc, highest degree first (Horner order). */
export const ERFC_POLY = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
];

/**
 * tanh (WGSL's helper `kiln_tanh`, the wasm vector form; JS has Math.tanh):
 * on |x| < 0.625 x + x·s·P(s), s = x² (Cephes' tanhf polynomial), else
 * 1 - 2/(e^{2|x|} + 1), which reaches 1 once the exponential overflows.
 * WGSL's builtin inherits sinh/cosh's absolute error: on lavapipe tanh(1e-6)
 * is 1% off and tanh(3e-30) is 3e-8.
 */
export const TANH_POLY_BELOW = 0.625;

/** P(s) of tanh's small branch, highest degree first. */
export const TANH_POLY = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

/**
 * log (WGSL's helper `kiln_log`, the wasm vector form; JS has Math.log), as
 * Cephes' logf: x = m·2^e with m in [√½, √2), log x = e·ln2 + log1p(f), f =
 * m - 1, log1p(f) = f - f²/2 + f·f²·P(f), ln2 split in two so e·LN2_HI is
 * exact. WGSL's builtin is accurate to 2^-21 absolute only: on lavapipe
 * log(1 - 2^-24) is 73% off.
 */
export const LOG_POLY = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
  3.3333331174e-1,
];
/** ln2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| < 2^15. */
export const LN2_HI = 0.693359375;
export const LN2_LO = -2.1219444e-4;

/** Horner's form of `coefficients` (highest degree first) in variable `v`, as text both JS and WGSL read. */
export const hornerText = (coefficients: readonly number[], v: string): string =>
  coefficients.slice(1).reduce((acc, c) => `(${acc} * ${v} + ${c})`, String(coefficients[0]));
