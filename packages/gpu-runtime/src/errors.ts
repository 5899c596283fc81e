/**
 * The one error type kiln throws for anything a user can cause or act on.
 * The message says what was wrong and what to do; `op` names the operation
 * (a tensor op, a kernel, a guard) when there is one.
 */
export class KilnError extends Error {
  override readonly name: string = 'KilnError';
  readonly op: string | undefined;

  constructor(message: string, options: { op?: string; cause?: unknown } = {}) {
    super(options.op ? `${options.op}: ${message}` : message, { cause: options.cause });
    this.op = options.op;
  }
}

/**
 * A device memory error that eager attributes to the op and the tensor being
 * made (`withContext`); the runtime raises it with op 'webgpu'.
 */
export abstract class DeviceMemoryError extends KilnError {
  abstract withContext(op: string, tensor: string): DeviceMemoryError;
}

/**
 * A buffer bigger than a limit of the device (`maxStorageBufferBindingSize`,
 * `maxBufferSize`, ...): raised when the buffer is asked for, before any work
 * that would use it is recorded.
 */
export class DeviceLimitError extends DeviceMemoryError {
  override readonly name = 'DeviceLimitError';

  constructor(
    /** The buffer or binding, e.g. "a buffer for a float32[41943040] tensor". */
    readonly what: string,
    readonly bytes: number,
    readonly limitName: string,
    readonly limit: number,
    readonly advice = '',
    op?: string,
  ) {
    super(
      `${what} needs ${formatBytes(bytes)} (${bytes} bytes), above this device's ${limitName} of ` +
        `${formatBytes(limit)} (${limit} bytes)${advice ? `; ${advice}` : ''}`,
      { op },
    );
  }

  withContext(op: string, tensor: string): DeviceLimitError {
    return new DeviceLimitError(`${this.what} for ${aOrAn(tensor)} tensor`, this.bytes, this.limitName, this.limit, this.advice, op);
  }
}

/** The figures of an allocation that did not fit, in bytes. */
export interface MemoryFigures {
  /** Bytes of buffers in use (tensors, planned buffers, staging). */
  live: number;
  requested: number;
  /** What the pool may hold (KILN_GPU_MEMORY_BUDGET, initWebGpu's memoryBudget, or the default). */
  budget: number;
  /** Cached free buffers destroyed to make room before giving up. */
  freed: number;
}

/**
 * Out of device memory, like PyTorch's torch.cuda.OutOfMemoryError: the
 * pool's budget (or the driver) cannot fit the request even after freeing
 * every cached buffer. Raised before the driver is asked, so the process
 * survives; nothing was allocated.
 */
export class OutOfMemoryError extends DeviceMemoryError {
  override readonly name = 'OutOfMemoryError';

  constructor(
    readonly figures: MemoryFigures,
    readonly tensor = '',
    op?: string,
    /** The driver's own message, when it was the driver that ran out. */
    readonly driverMessage = '',
  ) {
    const { live, requested, budget, freed } = figures;
    super(
      `out of memory${tensor ? ` making ${aOrAn(tensor)} tensor` : ''}: ${formatBytes(live)} live, ${formatBytes(requested)} requested, ` +
        `budget ${Number.isFinite(budget) ? formatBytes(budget) : 'unlimited'}` +
        (freed > 0 ? ` (${formatBytes(freed)} of cached buffers were freed first)` : '') +
        (driverMessage ? `; the device reported: ${driverMessage}` : '') +
        `. Free tensors with dispose() or tidy() (a tensor dropped without dispose() is freed only when JS garbage-collects it), ` +
        `or set a larger budget: KILN_GPU_MEMORY_BUDGET=4GiB or initWebGpu({ memoryBudget: '4GiB' })`,
      { op },
    );
  }

  withContext(op: string, tensor: string): OutOfMemoryError {
    return new OutOfMemoryError(this.figures, tensor, op, this.driverMessage);
  }
}

/** 'an int32[3]', 'a float32[3]'. */
const aOrAn = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

/** Bytes in MiB (GiB from 10 GiB, KiB or bytes below 1 MiB), the unit of kiln's memory messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 10 * 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 2 ** 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  const mib = bytes / 2 ** 20;
  return `${Number.isInteger(mib) || mib >= 100 ? mib.toFixed(0) : mib.toFixed(2)} MiB`;
}
