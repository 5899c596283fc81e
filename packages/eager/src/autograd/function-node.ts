/**
 * Nodes for a function of several tensors with several results whose
 * backward is itself a function (PyTorch's `autograd.Function`): the
 * compiler gives each compiled graph whose results require grad one, and
 * its backward runs the compiled backward graph.
 *
 * The engine's nodes have one output each, so each result gets a
 * `FunctionOutput` node (its `gradFn`) that hands the gradient reaching it
 * to the function's node. That node was made before them, so the engine
 * (which runs nodes latest first) runs it after all of them, once, with
 * the gradients that arrived.
 */
import { KilnError } from '@kiln/gpu-runtime';
import { keep } from '../memory';
import type { InputMeta, TensorMeta } from '../ops/table';
import { Tensor } from '../tensor';
import type { Edge } from './node';
import { BackwardNode, SavedTensor } from './node';

/**
 * The backward of a function: each input's gradient (null: none) from each
 * result's gradient (null where none arrived) and what the forward saved.
 * As in eager, an input gets a gradient only through results one reached.
 */
export type FunctionBackward = (grads: readonly (Tensor | null)[], saved: readonly Tensor[]) => readonly (Tensor | null)[];

export class FunctionNode extends BackwardNode {
  private readonly saved: SavedTensor[];
  private received: (Tensor | undefined)[];
  /** One node per result, made on demand: what each result's `gradFn` is. */
  private readonly outputNodes: FunctionOutput[] = [];

  /**
   * `backward` null: a function whose backward was already run where it was
   * called (a compiled function that called backward() inside): a second
   * pass is the error a second backward through freed tensors is.
   */
  constructor(
    readonly name: string,
    inputs: readonly InputMeta[],
    readonly outputs: readonly TensorMeta[],
    next: readonly (Edge | null)[],
    saved: readonly Tensor[],
    private readonly backward: FunctionBackward | null,
  ) {
    super(inputs, next);
    this.saved = saved.map((t) => new SavedTensor(t));
    this.received = outputs.map(() => undefined);
    this.usedUp = backward === null;
  }

  override get gathers(): boolean {
    return true;
  }

  /** The node that is result `i`'s `gradFn`. */
  output(i: number): FunctionOutput {
    return (this.outputNodes[i] ??= new FunctionOutput(this, i));
  }

  /** The gradient of result `i` arrived (added to what arrived before); kept until this node runs, outside the engine's tidy scopes. */
  receive(i: number, g: Tensor): void {
    const prev = this.received[i];
    this.received[i] = keep(prev ? prev.add(g) : new Tensor(g.storage, g.layout));
    prev?.dispose();
  }

  apply(_grad: Tensor | null, _needs: readonly boolean[]): readonly (Tensor | null)[] {
    const received = this.received;
    this.received = this.outputs.map(() => undefined);
    if (received.every((g) => g === undefined)) return this.inputs.map(() => null);
    if (this.backward === null) {
      for (const g of received) g?.dispose();
      throw new KilnError(
        `trying to backward through the graph a second time: ${this.name} already ran backward() through it, which freed what it saved; ` +
          'pass { retainGraph: true } to that backward() to keep it',
        { op: 'backward' },
      );
    }
    const saved = this.saved.map((s, i) => s.read(`saved value ${i}`, this.name, this.usedUp));
    try {
      return this.backward(
        received.map((g) => g ?? null),
        saved,
      );
    } finally {
      for (const g of received) g?.dispose();
    }
  }

  freeSaved(usedUp: boolean): void {
    this.usedUp ||= usedUp;
    for (const s of this.saved) s.free();
    if (!usedUp) for (const g of this.received) g?.dispose();
  }

  override toString(): string {
    return `<CompiledFunctionBackward ${this.name}>`;
  }
}

/** Result `index` of a function: hands the gradient that reaches it to the function's node. */
export class FunctionOutput extends BackwardNode {
  constructor(
    readonly fn: FunctionNode,
    readonly index: number,
  ) {
    super([fn.outputs[index]!], [fn]);
  }

  apply(grad: Tensor | null): readonly (Tensor | null)[] {
    if (grad) this.fn.receive(this.index, grad);
    return [null];
  }

  freeSaved(): void {
    // It saves nothing; the function's node frees what the function saved.
  }

  override toString(): string {
    return `<CompiledFunctionBackward ${this.fn.name}, result ${this.index}>`;
  }
}
