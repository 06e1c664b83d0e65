import { wireErrorHandler } from '../wire-errors.ts';

/**
 * The errors of POST /v1/traces: the house's error body (OTLP exporters read the status and
 * Retry-After, not the body), with OTLP's Status fields `code` (gRPC's code for the status) and
 * `message` beside it for a collector-minded reader.
 */
const grpcCodes: Record<number, number> = { 400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 8, 503: 14 };

export const otlpErrorHandler = wireErrorHandler((e) => ({
  code: grpcCodes[e.status] ?? (e.status >= 500 ? 13 : 3),
  message: e.message,
  error: { code: e.code, message: e.message },
}));
