/**
 * Byte-level encoding of the WebAssembly binary format: a growable byte
 * sink with the LEB128 integers, float32 immediates and length-prefixed
 * vectors that every section and instruction is made of.
 */

export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  byte(b: number): this {
    if (this.len === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.len++] = b & 0xff;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]!);
    return this;
  }

  /** Unsigned LEB128 (sizes, indices, alignments, offsets). */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    let x = v;
    do {
      const low = x & 0x7f;
      x = Math.floor(x / 128);
      this.byte(x === 0 ? low : low | 0x80);
    } while (x !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit value (i32.const immediates; values up to 2^32 are taken as their int32 bit pattern). */
  s32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`i32 out of range: ${v}`);
    let x = v | 0;
    for (;;) {
      const low = x & 0x7f;
      x >>= 7;
      // Done once the rest is pure sign extension of the 7 bits just written.
      if ((x === 0 && (low & 0x40) === 0) || (x === -1 && (low & 0x40) !== 0)) return this.byte(low);
      this.byte(low | 0x80);
    }
  }

  /** A float32 immediate, little-endian (f32.const; the value is rounded to float32). */
  f32(v: number): this {
    const bits = new Uint8Array(new Float32Array([v]).buffer);
    return this.bytes(bits);
  }

  /** A name: its UTF-8 bytes, length-prefixed. */
  name(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.u32(utf8.length).bytes(utf8);
  }

  /** Another writer's bytes, prefixed by their length (section and function bodies). */
  sized(inner: ByteWriter): this {
    return this.u32(inner.length).bytes(inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
