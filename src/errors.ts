/**
 * The one catalogue of error codes and their HTTP status. Domain code throws `AppError` with a code
 * from here; the HTTP layer renders it as `{"error": {"code", "message", "details?"}, "request_id"}`.
 */
export const errorStatus = {
  validation_error: 400,
  bad_request: 400,
  /** A call larger than a budget or rate limit itself: it can never fit, so retrying is no use. */
  exceeds_limit: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  not_implemented: 501,
  bad_gateway: 502,
  unavailable: 503,
  gateway_timeout: 504,
  config_error: 500,
  store_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter?: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; retryAfter?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorStatus[code];
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export const notFound = (what: string, id: string) => new AppError('not_found', `${what} ${id} not found`);

/**
 * For `.catch`: a not-found answer becomes undefined, any other failure (the store unavailable)
 * goes on, so a look-up that failed is never taken for a thing that is gone.
 */
export function unlessNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}

export const isNotFound = (err: unknown): err is AppError =>
  err instanceof AppError && err.code === 'not_found';

/**
 * A 409 for a name the tenant has given another object of the kind, with the field it is about in
 * `details` (the validation errors' shape), so a form can say it under its name field.
 */
export const nameTaken = (message: string) =>
  new AppError('conflict', message, {
    details: [{ in: 'body', path: 'name', message: `${message}; choose another name` }],
  });

/** Something that refers to an object, named in a 409 that refuses to delete the object. */
export interface User {
  kind: 'team' | 'agent' | 'service';
  id: string;
  name: string;
  /** How it uses the object, when the kind alone does not say: `hands off to it`. */
  how?: string;
}

/** Refuses to delete `what` while `users` refer to it (409), naming each; nothing when none do. */
export function refuseWhileUsed(what: string, users: readonly User[]): void {
  if (users.length === 0) return;
  const named = users.map((u) => `${u.kind} ${u.name}${u.how ? ` (${u.how})` : ''}`).join(', ');
  throw new AppError('conflict', `${what} is in use by ${named}: change or delete those first`, {
    details: { used_by: users },
  });
}

/** Turns anything thrown into an Error, so every `catch` can log and rethrow with a stack. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The SQLSTATE of a PostgreSQL error, whichever driver raised it; undefined for anything else. */
export function pgCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True for a PostgreSQL data exception (class 22) or integrity violation (class 23): an error caused
 * by a row's values, not by the store.
 */
export function isRowValueError(error: unknown): boolean {
  const code = pgCode(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

/** True for PostgreSQL's unique_violation, whichever driver raised it. */
export function isUniqueViolation(error: unknown): boolean {
  return pgCode(error) === '23505';
}
