import {
  boundString,
  type DecodeLimits,
  MalformedExport,
  nanosToMs,
  type OtlpSpan,
  storable,
  UNKNOWN_SERVICE,
} from './spans.ts';

/*
 * ExportTraceServiceRequest in OTLP/JSON: protobuf's JSON mapping with lowerCamelCase names, ids as
 * hex, 64-bit integers as decimal strings or numbers, enums as numbers. The original snake_case
 * names are accepted too, as protobuf JSON parsers do. A body whose shape is not the request's
 * (a list where an object goes, an id that is not hex) throws MalformedExport: the route's 400.
 */

type Json = Record<string, unknown>;

const field = (o: Json, camel: string, snake: string): unknown => o[camel] ?? o[snake];

function object(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new MalformedExport(`${what} is not an object`);
  return v as Json;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedExport(`${what} is not a list`);
  return v;
}

function hexId(v: unknown, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || v.length > 64)
    throw new MalformedExport(`${what} is not a hex id`);
  return v.toLowerCase();
}

function anyValue(v: unknown, limits: DecodeLimits, depth: number): unknown {
  const o = object(v, 'an attribute value');
  if ('stringValue' in o || 'string_value' in o) {
    const s = field(o, 'stringValue', 'string_value');
    return boundString(typeof s === 'string' ? s : String(s), limits);
  }
  if ('boolValue' in o || 'bool_value' in o) return field(o, 'boolValue', 'bool_value') === true;
  if ('intValue' in o || 'int_value' in o) return Number(field(o, 'intValue', 'int_value'));
  if ('doubleValue' in o || 'double_value' in o) return Number(field(o, 'doubleValue', 'double_value'));
  if ('bytesValue' in o || 'bytes_value' in o)
    return boundString(String(field(o, 'bytesValue', 'bytes_value')), limits);
  if (depth >= limits.maxDepth) return null;
  const array = field(o, 'arrayValue', 'array_value');
  if (array !== undefined)
    return list(object(array, 'arrayValue').values, 'arrayValue.values')
      .slice(0, limits.maxAttributes)
      .map((x) => anyValue(x, limits, depth + 1));
  const kv = field(o, 'kvlistValue', 'kvlist_value');
  if (kv !== undefined) return attributes(object(kv, 'kvlistValue').values, limits, depth + 1);
  return null;
}

function attributes(v: unknown, limits: DecodeLimits, depth = 0): Record<string, unknown> {
  // No prototype: a key named __proto__ is an attribute like any other.
  const out: Record<string, unknown> = Object.create(null);
  for (const item of list(v, 'attributes').slice(0, limits.maxAttributes)) {
    const kv = object(item, 'an attribute');
    if (typeof kv.key !== 'string' || !kv.key) throw new MalformedExport('an attribute has no key');
    out[storable(kv.key, 256)] = anyValue(kv.value, limits, depth);
  }
  return out;
}

function span(v: unknown, service: string, limits: DecodeLimits): OtlpSpan {
  const s = object(v, 'a span');
  const status = object(s.status, 'a status');
  const name = s.name ?? '';
  return {
    traceId: hexId(field(s, 'traceId', 'trace_id'), 'traceId'),
    spanId: hexId(field(s, 'spanId', 'span_id'), 'spanId'),
    parentSpanId: hexId(field(s, 'parentSpanId', 'parent_span_id'), 'parentSpanId'),
    name: storable(String(name), 1000),
    startMs: nanosToMs(field(s, 'startTimeUnixNano', 'start_time_unix_nano')),
    endMs: nanosToMs(field(s, 'endTimeUnixNano', 'end_time_unix_nano')),
    attributes: attributes(s.attributes, limits),
    events: list(s.events, 'events')
      .slice(0, limits.maxAttributes)
      .map((e) => {
        const o = object(e, 'an event');
        return {
          name: storable(String(o.name ?? ''), 1000),
          timeMs: nanosToMs(field(o, 'timeUnixNano', 'time_unix_nano')),
          attributes: attributes(o.attributes, limits),
        };
      }),
    status: {
      code: statusCode(status.code),
      message: typeof status.message === 'string' ? boundString(status.message, limits) : '',
    },
    service,
  };
}

/** Status codes as numbers, or as the enum's names (protobuf JSON parsers accept both). */
function statusCode(v: unknown): number {
  if (v === 'STATUS_CODE_OK') return 1;
  if (v === 'STATUS_CODE_ERROR') return 2;
  const n = Number(v ?? 0);
  return Number.isInteger(n) ? n : 0;
}

/** The spans of an OTLP/JSON export request, each carrying its resource's service name. */
export function decodeJson(body: unknown, limits: DecodeLimits): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const request = object(body, 'the request');
  for (const rsRaw of list(field(request, 'resourceSpans', 'resource_spans'), 'resourceSpans')) {
    const rs = object(rsRaw, 'resourceSpans[]');
    const name = attributes(object(rs.resource, 'resource').attributes, limits)['service.name'];
    const service = typeof name === 'string' && name ? storable(name, 200) : UNKNOWN_SERVICE;
    for (const ssRaw of list(field(rs, 'scopeSpans', 'scope_spans'), 'scopeSpans')) {
      for (const s of list(object(ssRaw, 'scopeSpans[]').spans, 'spans'))
        spans.push(span(s, service, limits));
    }
  }
  return spans;
}
