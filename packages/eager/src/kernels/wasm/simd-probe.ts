/**
 * What this engine's WebAssembly can do, found by validating one-function
 * modules (WebAssembly.validate compiles nothing and throws nothing).
 */
import { ModuleBuilder } from './module-builder';
import { wasmApi } from './wasm-api';

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/** 128-bit SIMD: a function returning a v128 constant. */
export function simdAvailable(): boolean {
  if (simd === undefined) {
    const mod = new ModuleBuilder();
    mod.func([], ['v128']).f32x4(0);
    simd = wasmApi?.validate(mod.toBytes()) === true;
  }
  return simd;
}

/**
 * Relaxed SIMD's multiply-add (on by default from Node 22 and Chrome 114;
 * Node 20 with --experimental-wasm-relaxed-simd).
 */
export function relaxedMaddAvailable(): boolean {
  if (relaxed === undefined) {
    const mod = new ModuleBuilder();
    mod.func([], ['v128']).f32x4(1).f32x4(2).f32x4(3).op('f32x4.relaxed_madd');
    relaxed = simdAvailable() && wasmApi?.validate(mod.toBytes()) === true;
  }
  return relaxed;
}
