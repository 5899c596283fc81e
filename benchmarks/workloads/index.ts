/** The A/B workloads, in report order. */
import { w1 } from './w1-elementwise';
import { w2 } from './w2-softmax';
import { w3 } from './w3-layernorm';
import { w4 } from './w4-mlp';
import { w5 } from './w5-matmul';
import { w6 } from './w6-transformer-block';
import { w7 } from './w7-dispatch-bound';
import { w9 } from './w9-gpt2-small';
import type { Workload } from './workload';

export const WORKLOADS: readonly Workload[] = [w1, w2, w3, w4, w5, w6, w7, w9];
/** W8: training steps of these models (lib/train-row.ts). */
export const TRAINED: readonly Workload[] = [w4, w6];
export type { Instance, Model, Tolerance, Workload } from './workload';
export { callModel, parametersOf } from './workload';
