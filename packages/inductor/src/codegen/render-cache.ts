/**
 * A graph's kernel sources by structure: the kernels of identical layers
 * (a model's twelve blocks) differ only in their names, so each structure
 * is rendered once and each copy gets its own name in the source's header
 * comment, `// kiln kernel <name>: <ops>` (identical text then shares one
 * pipeline, see @kiln/gpu-runtime's PipelineCache).
 */

import { keyOf } from '../ir/expr';
import type { GeneratedKernel } from './kernel';

export class RenderCache<R extends { readonly source: string }> {
  private readonly renders = new Map<string, { name: string; rendered: R }>();

  /** `render()` of `k`, or the render of a kernel of the same structure, renamed; `variant`: the render's options. */
  get(k: GeneratedKernel, variant: string, render: () => R): R {
    const key = `${variant}\u0000${kernelKey(k)}`;
    const known = this.renders.get(key);
    if (!known) {
      const rendered = render();
      this.renders.set(key, { name: k.name, rendered });
      return rendered;
    }
    const source = known.rendered.source.replace(`kiln kernel ${known.name}:`, () => `kiln kernel ${k.name}:`);
    return { ...known.rendered, source };
  }
}

/** All a renderer reads of a kernel but its name: expressions and indices by their keys. */
export function kernelKey(k: GeneratedKernel): string {
  return JSON.stringify({ ...k, name: undefined }, (field, value) =>
    field !== '' && typeof value === 'object' && value !== null && 'kind' in value ? keyOf(value) : value,
  );
}
