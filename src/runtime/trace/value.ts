/**
 * What a run's trace keeps of a tool call's arguments and result: the value as given, with secrets
 * redacted and long strings cut, so that a trace can be shown to anyone who may read the run
 * without handing them a credential a tool was passed, and a 50 MB tool result is not stored twice.
 */

/** Longest string kept whole; longer ones keep this many characters and say how many were cut. */
export const TRACE_STRING_LIMIT = 8192;
/** Items of an array kept; the rest are counted. */
const ARRAY_LIMIT = 500;
const DEPTH_LIMIT = 20;

/** Object keys whose values are secrets whatever they hold. */
const secretKey =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|.*(password|passwd|secret|token|credential|private[-_]?key))$/i;
/** Credentials recognised inside any string: bearer tokens, Agentry keys, common provider keys. */
const secretText =
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\bagk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9_-]{16,}/g;

export const REDACTED = '[redacted]';

export function traceValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return traceString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= DEPTH_LIMIT) return '[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, ARRAY_LIMIT).map((v) => traceValue(v, depth + 1));
    if (value.length > ARRAY_LIMIT) kept.push(`[${value.length - ARRAY_LIMIT} more items]`);
    return kept;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = secretKey.test(k) && v !== null && v !== '' ? REDACTED : traceValue(v, depth + 1);
  }
  return out;
}

/** A text as a trace keeps it: credentials in it redacted, cut beyond the limit (tool errors, span statuses). */
export function traceString(s: string): string {
  const redacted = s.replace(secretText, (_match, bearer: string | undefined) =>
    bearer ? `${bearer}${REDACTED}` : REDACTED,
  );
  if (redacted.length <= TRACE_STRING_LIMIT) return redacted;
  return `${redacted.slice(0, TRACE_STRING_LIMIT)}…[${redacted.length - TRACE_STRING_LIMIT} more characters]`;
}
