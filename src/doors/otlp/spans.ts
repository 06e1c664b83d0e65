/**
 * One exported span as the ingest reads it, whichever encoding carried it (protobuf or JSON):
 * ids as lowercase hex, times in epoch milliseconds, attribute values as plain JSON values.
 */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  events: { name: string; timeMs: number; attributes: Record<string, unknown> }[];
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  /** The resource's `service.name`: the app that sent the span. */
  service: string;
}

/** What decoding may hold at most, so a body cannot make the server hold more than it allows. */
export interface DecodeLimits {
  /** Characters kept of a string attribute (longer ones are cut and marked). */
  maxValueChars: number;
  /** Attributes kept per span, resource or event. */
  maxAttributes: number;
  /** Nesting of array and map values kept. */
  maxDepth: number;
}

export const defaultDecodeLimits: DecodeLimits = { maxValueChars: 32_000, maxAttributes: 256, maxDepth: 8 };

/** A body that is not an export request: the route's 400. */
export class MalformedExport extends Error {}

/**
 * Text the store can keep: NUL characters dropped, lone surrogates replaced, at most `max`
 * characters. An app's text is a record here, not a request to refuse: it is kept, mended.
 */
export function storable(s: string, max: number): string {
  const cut = s.length <= max ? s : s.slice(0, max);
  return cut.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\ufffd');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A string value cut at the limit, saying so (a prompt of 1 MB is kept as its first part). */
export function boundString(s: string, limits: DecodeLimits): string {
  const kept = storable(s, limits.maxValueChars);
  return s.length <= limits.maxValueChars ? kept : `${kept}… [cut at ${limits.maxValueChars} chars]`;
}

/** The service a resource names, as OTLP's SDKs default it when the app set none. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** Nanoseconds since the epoch, from a JSON number or decimal string, as milliseconds. */
export function nanosToMs(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v / 1e6;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(BigInt(v) / 1000n) / 1000;
  return 0;
}
