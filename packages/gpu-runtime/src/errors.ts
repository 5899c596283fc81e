/**
 * The one error type kiln throws for anything a user can cause or act on.
 * The message says what was wrong and what to do; `op` names the operation
 * (a tensor op, a kernel, a guard) when there is one.
 */
export class KilnError extends Error {
  override readonly name = 'KilnError';
  readonly op: string | undefined;

  constructor(message: string, options: { op?: string; cause?: unknown } = {}) {
    super(options.op ? `${options.op}: ${message}` : message, { cause: options.cause });
    this.op = options.op;
  }
}
