/**
 * erf's approximation, one formula for every kernel language (the JS and
 * WGSL helper `kiln_erf`, the wasm vector form): on |x| < 0.5 its
 * Maclaurin series, accurate relative to erf itself down to the
 * subnormals (1 - erfc would cancel there: erf(x)/x, a gelu's gradient
 * near 0, would lose digits); above, 1 - erfc(|x|) by Numerical Recipes'
 * erfc(z) ≈ t·exp(P(t) - z²), t = 1/(1 + z/2), fractional error below 1.2e-7.
 */

/** Where the series hands over to 1 - erfc. */
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

/** Horner's form of `coefficients` (highest degree first) in variable `v`, as text both JS and WGSL read. */
export const hornerText = (coefficients: readonly number[], v: string): string =>
  coefficients.slice(1).reduce((acc, c) => `(${acc} * ${v} + ${c})`, String(coefficients[0]));
