// A module as a user writes it (JavaScript): a weight and a bias in module
// variables, a helper that reads them, a config object. test/closure-transform.test.ts
// loads it through the load-time transform and rebinds the weight between calls.

import { F, tensor } from '@kiln/eager';
import { compile } from '@kiln/tracer';

let w = tensor([
  [1, 0],
  [0, 1],
]);
let bias = tensor([0, 0]);
const cfg = { scale: 2, label: 'not read by the block' };

function project(x) {
  return F.linear(x, w).add(bias);
}

export const block = compile((x) => project(x).mul(cfg.scale), { backend: 'eager' });
export const setWeight = (next) => {
  w = next;
};
export const setBias = (next) => {
  bias = next;
};
export const setConfig = (key, value) => {
  cfg[key] = value;
};
