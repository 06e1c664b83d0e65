import { wireErrorHandler } from '../wire-errors.ts';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

/** Anthropic's error type for a status, as its clients map them. */
export const errorType = (status: number) =>
  errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

/** Anthropic's error body, which its clients parse into their error classes. */
export const anthropicErrorHandler = wireErrorHandler((e) => ({
  type: 'error',
  error: { type: errorType(e.status), message: e.message },
}));
