/**
 * `Module`, PyTorch's `nn.Module` reduced to what kiln needs: a module's
 * parameters are its tensor fields and its children are its module fields
 * (also inside arrays), found by walking its own properties in order — the
 * same rule `compile` uses for a module's tensor fields, so a module needs
 * no registration calls.
 */
import { noGrad } from '../autograd/grad-mode';
import { keep, tidy } from '../memory';
import { Tensor } from '../tensor';

/** Fields (and array elements) that are tensors or modules, with their dotted names. */
function* fields(m: Module): Generator<[string, Tensor | Module]> {
  for (const [name, value] of Object.entries(m)) {
    if (value instanceof Tensor || value instanceof Module) yield [name, value];
    else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) if (v instanceof Tensor || v instanceof Module) yield [`${name}.${i}`, v];
    }
  }
}

export abstract class Module {
  /** Training mode (dropout drops); `eval()` turns it off for this module and every module inside it. */
  training = true;

  /** The computation; call it directly (`model.forward(x)`), or compile the module (`compile(model)`). */
  abstract forward(...args: never[]): unknown;

  /** Every parameter (tensor field) of this module and the modules inside it, each once, with its dotted name (`0.weight`). */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const walk = (m: Module, prefix: string, visited: Set<Module>) => {
      if (visited.has(m)) return;
      visited.add(m);
      for (const [name, v] of fields(m)) {
        if (v instanceof Module) walk(v, `${prefix}${name}.`, visited);
        else if (!seen.has(v)) {
          seen.add(v);
          out.push([prefix + name, v]);
        }
      }
    };
    walk(this, '', new Set());
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The modules directly inside this one, with their field names. */
  namedChildren(): [string, Module][] {
    return [...fields(this)].filter((f): f is [string, Module] => f[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Sets training mode on this module and every module inside it; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children()) child.train(mode);
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (`p.grad = null`, freeing gradients backward made). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
}

/**
 * A parameter made by `init` (in a tidy, without recording), marked as a leaf that
 * requires grad, and kept out of any enclosing `tidy` (a module's weights
 * live as long as the module; `dispose()` them to free them early).
 */
export function parameter(init: () => Tensor): Tensor {
  return keep(tidy(() => noGrad(init)).requiresGrad_());
}
