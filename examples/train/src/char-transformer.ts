/**
 * A small character-level transformer (GPT-style: token and position
 * embeddings, pre-layernorm blocks of causal self-attention and a gelu
 * MLP with residuals, a final layernorm and a linear head), written with
 * kiln's `nn` modules as a user writes one.
 */
import { type Device, F, nn, type Tensor } from '@kiln/eager';

export interface TransformerConfig {
  readonly vocab: number;
  /** Longest sequence (the position table's size). */
  readonly context: number;
  readonly width: number;
  readonly heads: number;
  readonly layers: number;
}

class Block extends nn.Module {
  readonly ln1: nn.LayerNorm;
  readonly qkv: nn.Linear;
  readonly proj: nn.Linear;
  readonly ln2: nn.LayerNorm;
  readonly fc: nn.Linear;
  readonly fc2: nn.Linear;

  constructor(
    readonly width: number,
    readonly heads: number,
    device: Device,
  ) {
    super();
    this.ln1 = new nn.LayerNorm(width, { device });
    this.qkv = new nn.Linear(width, 3 * width, { device });
    this.proj = new nn.Linear(width, width, { device });
    this.ln2 = new nn.LayerNorm(width, { device });
    this.fc = new nn.Linear(width, 4 * width, { device });
    this.fc2 = new nn.Linear(4 * width, width, { device });
  }

  forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const [q, k, v] = this.qkv
      .forward(this.ln1.forward(x))
      .split(C, -1)
      .map((t) => t.reshape([B, T, this.heads, C / this.heads]).transpose(1, 2));
    const att = F.scaledDotProductAttention(q!, k!, v!, { isCausal: true }).transpose(1, 2).reshape([B, T, C]);
    const h = x.add(this.proj.forward(att));
    return h.add(this.fc2.forward(F.gelu(this.fc.forward(this.ln2.forward(h)))));
  }
}

export class CharTransformer extends nn.Module {
  readonly tokens: nn.Embedding;
  readonly positions: nn.Embedding;
  readonly blocks: Block[];
  readonly lnF: nn.LayerNorm;
  readonly head: nn.Linear;

  constructor(
    readonly config: TransformerConfig,
    device: Device,
  ) {
    super();
    const { vocab, context, width, heads, layers } = config;
    this.tokens = new nn.Embedding(vocab, width, { device });
    this.positions = new nn.Embedding(context, width, { device });
    this.blocks = Array.from({ length: layers }, () => new Block(width, heads, device));
    this.lnF = new nn.LayerNorm(width, { device });
    this.head = new nn.Linear(width, vocab, { device });
  }

  /** Logits [B, T, vocab] for int32 token ids [B, T] (with `positions` the int32 ids 0..T-1). */
  forward(idx: Tensor, positions: Tensor): Tensor {
    let x = this.tokens.forward(idx).add(this.positions.forward(positions));
    for (const block of this.blocks) x = block.forward(x);
    return this.head.forward(this.lnF.forward(x));
  }
}
