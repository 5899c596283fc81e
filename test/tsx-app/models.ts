/**
 * The README's examples, run as users run them (`node --import tsx --import
 * @kiln/tracer/register tsx-app/models.ts`): its MLP function, and a
 * class-based model (a module of child modules, parameters as fields)
 * compiled as a module and passed as an argument. Prints one JSON line:
 * each one's mode, as compiled and as `explain` says, with its guards.
 */
import { F, randn, type Tensor } from '@kiln/eager';
import { compile, explain } from '@kiln/tracer';

// The README's "Using it" example, on the cpu.
const device = 'cpu';
const [x, w1, b1, w2, b2] = [[8, 16], [32, 16], [32], [16, 32], [16]].map((s) => randn(s, { device })) as Tensor[];
const mlp = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2);
const fast = compile(mlp);
fast(x!, w1!, b1!, w2!, b2!);
const mlpReport = await explain(mlp)(x!, w1!, b1!, w2!, b2!);

// The README's class-based model.
class Linear {
  weight: Tensor;
  bias: Tensor;
  constructor(inFeatures: number, outFeatures: number) {
    this.weight = randn([outFeatures, inFeatures]);
    this.bias = randn([outFeatures]);
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

class MLP {
  fc1: Linear;
  fc2: Linear;
  constructor(dim: number, hidden: number) {
    this.fc1 = new Linear(dim, hidden);
    this.fc2 = new Linear(hidden, dim);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(F.gelu(this.fc1.forward(x)));
  }
}

const model = new MLP(16, 32);
const fastModel = compile(model);
const y = fastModel(x!);
const replayed = fastModel(x!);
const modelReport = await explain(model)(x!);

const step = compile((m: MLP, x: Tensor) => m.forward(x).sum());
step(model, x!);
step(model, x!);

const max = async (a: Tensor, b: Tensor) => Math.max(...((await a.sub(b).abs().data()) as Float32Array));
console.log(
  JSON.stringify({
    readmeMlp: { mode: fast.explain().mode, explain: mlpReport.mode, modeReason: mlpReport.modeReason, guards: mlpReport.guards },
    classModel: {
      mode: fastModel.explain().mode,
      explain: modelReport.mode,
      modeReason: modelReport.modeReason,
      guards: modelReport.guards,
      diff: Math.max(await max(y, model.forward(x!)), await max(replayed, model.forward(x!))),
    },
    classArgument: { mode: step.explain().mode, modeReason: step.explain().modeReason },
  }),
);
