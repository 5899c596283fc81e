/**
 * Whether this engine runs WebAssembly with 128-bit SIMD: it validates a
 * module whose one function returns a v128 constant (WebAssembly.validate
 * compiles nothing and throws nothing).
 */
import { ModuleBuilder } from './module-builder';
import { wasmApi } from './wasm-api';

let available: boolean | undefined;

export function simdAvailable(): boolean {
  if (available === undefined) {
    const mod = new ModuleBuilder();
    mod.func([], ['v128']).f32x4(0);
    available = wasmApi?.validate(mod.toBytes()) === true;
  }
  return available;
}
