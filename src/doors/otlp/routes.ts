import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { principalOf } from '../../http/caller.ts';
import { errorResponse } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { parseClientJson } from '../../text/client-json.ts';
import { otlpErrorHandler } from './errors.ts';
import { decodeJson } from './json.ts';
import { decodeProtobuf } from './protobuf.ts';
import { exportResponse } from './response.ts';
import { defaultDecodeLimits, MalformedExport, type OtlpSpan } from './spans.ts';

/** Bytes of an export as sent (compressed or not): OTLP exporters batch 512 spans by default. */
export const OTLP_BODY_LIMIT = 5 * 1024 * 1024;
/** Bytes a compressed export may inflate to: a gzip bomb stops here. */
const INFLATED_LIMIT = 4 * OTLP_BODY_LIMIT;
/** Spans taken from one export; those past it are refused in the answer's partial success. */
export const OTLP_MAX_SPANS = 10_000;

const PROTOBUF = 'application/x-protobuf';

type Encoding = 'protobuf' | 'json';

function encodingOf(req: FastifyRequest): Encoding {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === PROTOBUF || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new AppError(
    'unsupported_media_type',
    `OTLP/HTTP takes ${PROTOBUF} or application/json, not "${type || 'no content type'}"`,
  );
}

const gunzipAsync = promisify(gunzip);

/** The export's bytes, inflated off the event loop (zlib's thread pool): a 20 MB export stalls no request. */
async function inflated(req: FastifyRequest, body: Buffer): Promise<Buffer> {
  const coding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (coding === 'identity' || coding === '') return body;
  if (coding !== 'gzip')
    throw new AppError('unsupported_media_type', `content-encoding "${coding}" is not taken: gzip or none`);
  try {
    return await gunzipAsync(body, { maxOutputLength: INFLATED_LIMIT });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new AppError('payload_too_large', `the export inflates past ${INFLATED_LIMIT} bytes`);
    throw new AppError('bad_request', 'the body is not valid gzip');
  }
}

/** The request's spans, or a 400 saying what is wrong with it. */
function decode(encoding: Encoding, body: Buffer, maxDepth: number): OtlpSpan[] {
  try {
    if (encoding === 'protobuf') return decodeProtobuf(body, defaultDecodeLimits);
    const text = body.toString('utf8');
    return decodeJson(text.trim() === '' ? {} : parseClientJson(text, maxDepth), defaultDecodeLimits);
  } catch (err) {
    if (err instanceof MalformedExport)
      throw new AppError('bad_request', `not an OTLP trace export: ${err.message}`);
    throw err;
  }
}

/**
 * POST /v1/traces: OTLP/HTTP trace export, as any OpenTelemetry SDK sends it with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` pointed at the server and an API key in `OTEL_EXPORTER_OTLP_HEADERS`.
 * Protobuf or JSON, gzip or not; the answer is an ExportTraceServiceResponse in the request's
 * encoding, with `partial_success` when spans were refused. The spans that follow a GenAI
 * convention become runs of the key's tenant (ingest.ts).
 */
export const otlpRoutes =
  ({ traces, spanRate, policies, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // The body arrives as bytes whatever its type: decompressed and decoded in the handler, so a
    // gzip JSON body is read like a plain one and every failure answers OTLP's way.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.post(
      '/v1/traces',
      {
        config: { auth: 'write' },
        bodyLimit: OTLP_BODY_LIMIT,
        errorHandler: otlpErrorHandler,
        schema: {
          tags: ['traces'],
          summary:
            'OTLP/HTTP trace export (protobuf or JSON, gzip): GenAI, OpenInference and AI SDK spans become runs of the tenant, one per trace',
          body: z
            .unknown()
            .describe('ExportTraceServiceRequest (application/x-protobuf or application/json)'),
          response: {
            200: z.looseObject({}).describe("ExportTraceServiceResponse, in the request's encoding"),
            400: errorResponse,
            401: errorResponse,
            403: errorResponse,
            413: errorResponse,
            415: errorResponse,
            429: errorResponse,
          },
        },
      },
      async (req, reply) => {
        const encoding = encodingOf(req);
        const p = principalOf(req);
        const spans = decode(encoding, await inflated(req, req.body as Buffer), config.server.json_max_depth);
        const taken = spans.slice(0, OTLP_MAX_SPANS);
        await spanRate.take(
          p.tenantId,
          taken.length,
          policies.get(p.tenantName).rate_limits.spans_per_minute,
        );
        const result = await traces.ingest({ id: p.tenantId, name: p.tenantName }, taken);
        const over = spans.length - taken.length;
        const rejected = result.rejected + over;
        const reasons = [...result.reasons];
        if (over > 0) reasons.push(`${over} spans past the ${OTLP_MAX_SPANS} one export may carry`);
        return send(reply, encoding, rejected, reasons.join('; '));
      },
    );
  };

function send(reply: FastifyReply, encoding: Encoding, rejected: number, message: string) {
  const body = exportResponse(encoding, rejected, message);
  return reply
    .code(200)
    .type(encoding === 'protobuf' ? PROTOBUF : 'application/json')
    .send(body);
}
