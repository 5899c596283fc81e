/**
 * What the wasm renderer throws for a kernel it cannot spell yet; the wasm
 * target then builds that kernel with the JS target and reports `reason`.
 */
export class NoWasmForm extends Error {
  constructor(readonly reason: string) {
    super(`no wasm form: ${reason}`);
  }
}
