/**
 * Typed errors at the edges. Each carries an HTTP status and a stable code; the admin API's error
 * body is always { error: { code, message } }.
 */
export class AppError extends Error {
  constructor(
    message: string,
    public readonly status: number,
    public readonly code: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 400, "bad_request", details);
  }
}
export class NotFoundError extends AppError {
  constructor(message = "not found") {
    super(message, 404, "not_found");
  }
}
export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 409, "conflict");
  }
}
export class SandboxNotFoundError extends NotFoundError {
  constructor(userId: string) {
    super(`no sandbox for user ${userId}`);
  }
}
export class UserNotFoundError extends NotFoundError {
  constructor(key: string) {
    super(`no user ${key}`);
  }
}

/**
 * The control plane refuses to start because running would be unsafe (no isolating runtime, key
 * material others can read). main() prints the message, which says what to do, without a stack.
 */
export class StartRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
