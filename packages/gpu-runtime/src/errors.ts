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
 * A buffer bigger than a limit of the device (`maxStorageBufferBindingSize`,
 * `maxBufferSize`, ...): raised when the buffer is asked for, before any work
 * that would use it is recorded.
 */
export class DeviceLimitError extends KilnError {
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

  /** The same error, naming the op and the tensor the user was making. */
  withContext(op: string, tensor: string): DeviceLimitError {
    return new DeviceLimitError(`${this.what} for ${aOrAn(tensor)} tensor`, this.bytes, this.limitName, this.limit, this.advice, op);
  }
}

/** 'an int32[3]', 'a float32[3]'. */
const aOrAn = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

/** Bytes in MiB (GiB from 10 GiB), the unit of kiln's memory messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 10 * 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const mib = bytes / 2 ** 20;
  return `${Number.isInteger(mib) || mib >= 100 ? mib.toFixed(0) : mib.toFixed(2)} MiB`;
}
