import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * JSON answers compressed on the wire (brotli or gzip, as the client accepts), from `minBytes` up:
 * `/openapi.json` and long lists shrink 10–20×. JSON only: event streams and NDJSON must reach the
 * client event by event (a compressor holds bytes back), and the console's assets are served
 * precompressed already. Small answers (most of the model doors' whole answers) pass as they are,
 * so the gateway's hot path pays one header check. Requests are never decompressed here: a body's
 * size limit must hold for the bytes a route reads (a door that takes compressed bodies, such as
 * OTLP, inflates them itself under its own limit).
 */
export async function registerCompression(app: FastifyInstance, opts: { minBytes: number }) {
  await app.register(compress, {
    globalCompression: true,
    globalDecompression: false,
    encodings: ['br', 'gzip'],
    threshold: opts.minBytes,
    customTypes: /^application\/(?:[\w.-]+\+)?json(?:;|$)/,
  });
}
