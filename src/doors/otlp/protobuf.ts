import {
  boundString,
  type DecodeLimits,
  MalformedExport,
  type OtlpSpan,
  storable,
  UNKNOWN_SERVICE,
} from './spans.ts';

/*
 * ExportTraceServiceRequest in protobuf (opentelemetry-proto, trace/v1 and common/v1), decoded by
 * hand: the fields the ingest reads, every other one skipped by its wire type. No package in the
 * tree decodes it (@opentelemetry/otlp-transformer only writes requests and reads responses, its
 * reader internal), and the subset is small: a few hundred lines of schema would otherwise come
 * with protobufjs. Any inconsistency (a length past the end, a wire type the field cannot have)
 * throws MalformedExport, which the route answers with 400.
 */

const textDecoder = new TextDecoder('utf-8');

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    // Values past 2^53 (an int64 attribute) lose precision rather than fail: they are recorded, not computed with.
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedExport('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new MalformedExport('varint longer than 10 bytes');
  }

  /** A varint read as a signed 64-bit value (int64 attributes may be negative: ten bytes, two's complement). */
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start === 10 && v >= 2 ** 63) return v - 2 ** 64;
    return v;
  }

  fixed64ms(): number {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.take(8), 8);
    const lo = view.getUint32(0, true);
    const hi = view.getUint32(4, true);
    return (hi * 2 ** 32 + lo) / 1e6;
  }

  double(): number {
    return new DataView(this.buf.buffer, this.buf.byteOffset + this.take(8), 8).getFloat64(0, true);
  }

  /** A length-delimited field's [start, end) in the buffer. */
  delimited(): [number, number] {
    const len = this.varint();
    const start = this.take(len);
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.delimited();
    return textDecoder.decode(this.buf.subarray(s, e));
  }

  hex(): string {
    const [s, e] = this.delimited();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('hex');
  }

  sub(): Reader {
    const [s, e] = this.delimited();
    return new Reader(this.buf, s, e);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.delimited();
    else if (wireType === 5) this.take(4);
    else throw new MalformedExport(`unsupported wire type ${wireType}`);
  }

  private take(n: number): number {
    if (n < 0 || this.pos + n > this.end) throw new MalformedExport('field runs past the end of its message');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Each field of the message: its number and wire type; `read` consumes it or the loop skips it. */
  fields(read: (field: number, wire: number) => boolean): void {
    while (!this.atEnd()) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 0) throw new MalformedExport('field number 0');
      if (!read(field, wire)) this.skip(wire);
    }
  }
}

function expect(wire: number, want: number): void {
  if (wire !== want) throw new MalformedExport(`wire type ${wire} where ${want} was expected`);
}

function anyValue(r: Reader, limits: DecodeLimits, depth: number): unknown {
  let value: unknown = null;
  r.fields((f, w) => {
    switch (f) {
      case 1:
        expect(w, 2);
        value = boundString(r.string(), limits);
        return true;
      case 2:
        expect(w, 0);
        value = r.varint() !== 0;
        return true;
      case 3:
        expect(w, 0);
        value = r.int64();
        return true;
      case 4:
        expect(w, 1);
        value = r.double();
        return true;
      case 5: {
        expect(w, 2);
        const list: unknown[] = [];
        const sub = r.sub();
        sub.fields((g, gw) => {
          if (g !== 1) return false;
          expect(gw, 2);
          const item = sub.sub();
          if (depth < limits.maxDepth && list.length < limits.maxAttributes)
            list.push(anyValue(item, limits, depth + 1));
          return true;
        });
        value = list;
        return true;
      }
      case 6: {
        expect(w, 2);
        const map: Record<string, unknown> = Object.create(null);
        const sub = r.sub();
        sub.fields((g, gw) => {
          if (g !== 1) return false;
          expect(gw, 2);
          const kv = keyValue(sub.sub(), limits, depth + 1);
          if (kv && depth < limits.maxDepth && Object.keys(map).length < limits.maxAttributes)
            map[kv[0]] = kv[1];
          return true;
        });
        value = map;
        return true;
      }
      case 7:
        expect(w, 2);
        value = boundString(r.hex(), limits);
        return true;
      default:
        return false;
    }
  });
  return value;
}

function keyValue(r: Reader, limits: DecodeLimits, depth: number): [string, unknown] | undefined {
  let key = '';
  let value: unknown = null;
  r.fields((f, w) => {
    if (f === 1) {
      expect(w, 2);
      key = r.string();
      return true;
    }
    if (f === 2) {
      expect(w, 2);
      value = anyValue(r.sub(), limits, depth);
      return true;
    }
    return false;
  });
  return key ? [storable(key, 256), value] : undefined;
}

function attribute(r: Reader, into: Record<string, unknown>, limits: DecodeLimits): void {
  const kv = keyValue(r.sub(), limits, 0);
  // At most maxAttributes keys: counting them costs that much per attribute, whatever the body sends.
  if (kv && (kv[0] in into || Object.keys(into).length < limits.maxAttributes)) into[kv[0]] = kv[1];
}

function attributesOf(r: Reader, field: number, limits: DecodeLimits): Record<string, unknown> {
  const attrs: Record<string, unknown> = Object.create(null);
  r.fields((f, w) => {
    if (f !== field) return false;
    expect(w, 2);
    attribute(r, attrs, limits);
    return true;
  });
  return attrs;
}

function span(r: Reader, service: string, limits: DecodeLimits): OtlpSpan {
  const s: OtlpSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    startMs: 0,
    endMs: 0,
    attributes: Object.create(null),
    events: [],
    status: { code: 0, message: '' },
    service,
  };
  r.fields((f, w) => {
    switch (f) {
      case 1:
        expect(w, 2);
        s.traceId = r.hex();
        return true;
      case 2:
        expect(w, 2);
        s.spanId = r.hex();
        return true;
      case 4:
        expect(w, 2);
        s.parentSpanId = r.hex();
        return true;
      case 5:
        expect(w, 2);
        s.name = storable(r.string(), 1000);
        return true;
      case 7:
        expect(w, 1);
        s.startMs = r.fixed64ms();
        return true;
      case 8:
        expect(w, 1);
        s.endMs = r.fixed64ms();
        return true;
      case 9:
        expect(w, 2);
        attribute(r, s.attributes, limits);
        return true;
      case 11: {
        expect(w, 2);
        const e = r.sub();
        const event = { name: '', timeMs: 0, attributes: Object.create(null) as Record<string, unknown> };
        e.fields((g, gw) => {
          if (g === 1) {
            expect(gw, 1);
            event.timeMs = e.fixed64ms();
          } else if (g === 2) {
            expect(gw, 2);
            event.name = storable(e.string(), 1000);
          } else if (g === 3) {
            expect(gw, 2);
            attribute(e, event.attributes, limits);
          } else return false;
          return true;
        });
        if (s.events.length < limits.maxAttributes) s.events.push(event);
        return true;
      }
      case 15: {
        expect(w, 2);
        const st = r.sub();
        st.fields((g, gw) => {
          if (g === 2) {
            expect(gw, 2);
            s.status.message = boundString(st.string(), limits);
          } else if (g === 3) {
            expect(gw, 0);
            s.status.code = st.varint();
          } else return false;
          return true;
        });
        return true;
      }
      default:
        return false;
    }
  });
  return s;
}

/** The spans of an ExportTraceServiceRequest, each carrying its resource's service name. */
export function decodeProtobuf(buf: Uint8Array, limits: DecodeLimits): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const top = new Reader(buf);
  top.fields((f, w) => {
    if (f !== 1) return false;
    expect(w, 2);
    const rs = top.sub();
    // The resource may come after the scope spans on the wire: the spans are read once it is known.
    const scopes: Reader[] = [];
    let service = UNKNOWN_SERVICE;
    rs.fields((g, gw) => {
      if (g === 1) {
        expect(gw, 2);
        const name = attributesOf(rs.sub(), 1, limits)['service.name'];
        if (typeof name === 'string' && name) service = storable(name, 200);
        return true;
      }
      if (g === 2) {
        expect(gw, 2);
        scopes.push(rs.sub());
        return true;
      }
      return false;
    });
    for (const ss of scopes) {
      ss.fields((g, gw) => {
        if (g !== 2) return false;
        expect(gw, 2);
        spans.push(span(ss.sub(), service, limits));
        return true;
      });
    }
    return true;
  });
  return spans;
}
