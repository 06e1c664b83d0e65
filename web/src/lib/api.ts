import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../../packages/client/src/openapi';

export type { paths };

/*
 * No credential lives in the page: signing in opens a console session the server keeps in an
 * HttpOnly, SameSite=Strict cookie, which the browser sends with every same-origin request of
 * every tab (src/http/session-cookie.ts).
 */

/** An API error as the server sent it: `{error: {code, message, details}, request_id}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
  request_id?: string;
}

/** Turns an openapi-fetch answer into its data, or throws the server's error with its request id. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = result;
  if (response.ok) return data as T;
  const body = (error ?? {}) as ErrorBody;
  throw new ApiError(
    response.status,
    body.error?.code ?? 'http_error',
    body.error?.message ?? `${response.status} ${response.statusText}`,
    body.request_id ?? response.headers.get('x-request-id') ?? undefined,
    body.error?.details,
  );
}

/** Listeners told when the server refuses the key (revoked, expired): the console signs out. */
const onUnauthorized = new Set<() => void>();
export const whenUnauthorized = (fn: () => void) => {
  onUnauthorized.add(fn);
  return () => {
    onUnauthorized.delete(fn);
  };
};

const auth: Middleware = {
  onResponse({ response }) {
    if (response.status === 401) for (const fn of onUnauthorized) fn();
    return response;
  },
};

/** The typed client of the server's own OpenAPI document (packages/client/src/openapi.d.ts). */
export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(auth);
