/**
 * ExportTraceServiceResponse (collector/trace/v1/trace_service.proto): empty when every span was
 * taken, else `partial_success` { rejected_spans (1, int64), error_message (2, string) }. In
 * protobuf it is written by hand like the request is read (protobuf.ts); in JSON, with protobuf's
 * JSON mapping (lowerCamelCase, the int64 as a decimal string).
 */
export function exportResponse(
  encoding: 'protobuf' | 'json',
  rejected: number,
  message: string,
): Buffer | string {
  if (encoding === 'json') {
    return JSON.stringify(
      rejected > 0 || message
        ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } }
        : {},
    );
  }
  if (rejected === 0 && !message) return Buffer.alloc(0);
  const text = Buffer.from(message, 'utf8');
  const inner = Buffer.concat([
    Buffer.from([0x08]),
    varint(rejected),
    Buffer.from([0x12]),
    varint(text.length),
    text,
  ]);
  return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
