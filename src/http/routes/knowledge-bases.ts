import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../db/page.ts';
import { AppError, toError } from '../../errors.ts';
import { formats } from '../../memory/formats.ts';
import type { IngestInput } from '../../memory/ingest.ts';
import {
  batchResultSchema,
  chunkSchema,
  createKbBody,
  documentSchema,
  ingestJobSchema,
  ingestJsonBody,
  ingestResultSchema,
  knowledgeBaseSchema,
  listQuery,
  searchBody,
  searchResultSchema,
  updateKbBody,
} from '../../memory/schema.ts';
import { parseClientJson } from '../../text/client-json.ts';
import { findUnstorableText } from '../../text/json-limits.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';
import {
  asyncQuery,
  ingestBatchBody,
  registerIngestStatus,
  registerNdjson,
  startAsyncIngest,
} from './kb-batch.ts';

const tags = ['knowledge-bases'];
const docParams = z.object({ id: z.uuid(), documentId: z.uuid() }).strict();
const pageQuery = listQuery.omit({ kind: true });

const validation = (error: z.ZodError) =>
  new AppError('validation_error', 'body is not valid', {
    details: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });

/** The file part and the fields of a multipart body. */
async function readParts(req: FastifyRequest, maxBytes: number) {
  const fields: Record<string, string> = {};
  let file: { name: string; bytes: Buffer } | undefined;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (file) throw new AppError('bad_request', 'send one file per request');
      const bytes = await part.toBuffer();
      if (part.file.truncated)
        throw new AppError(
          'payload_too_large',
          `${part.filename} is larger than the limit of ${maxBytes} bytes (memory.max_document_bytes)`,
        );
      file = { name: part.filename, bytes };
    } else fields[part.fieldname] = String(part.value);
  }
  return { fields, file };
}

/** A multipart upload: one `file` part, optional `source`, `format`, `title` and `metadata` (JSON) fields. */
async function fromMultipart(req: FastifyRequest, maxBytes: number, maxDepth: number): Promise<IngestInput> {
  const { fields, file } = await readParts(req, maxBytes).catch((err) => {
    // A body the parser cannot read (no boundary, cut short) is the client's mistake, not a 500.
    if (err instanceof AppError) throw err;
    throw new AppError('bad_request', `malformed multipart body: ${toError(err).message}`);
  });
  if (!file) throw new AppError('validation_error', 'a multipart upload needs a `file` part');
  // Fields are client text like a JSON body's: the same refusal of NUL and lone surrogates.
  const badField = findUnstorableText(fields);
  if (badField) {
    throw new AppError(
      'bad_request',
      `field ${badField.slice(2)} holds a NUL character or a lone surrogate`,
      {
        details: [{ in: 'body', path: badField, message: 'NUL and unpaired surrogates are not accepted' }],
      },
    );
  }
  const schema = z
    .object({
      source: z.string().min(1).max(1000).optional(),
      format: z.enum(formats).optional(),
      title: z.string().max(500).optional(),
      metadata: z.string().optional(),
    })
    .strict();
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw validation(parsed.error);
  let metadata: Record<string, unknown> = {};
  if (parsed.data.metadata !== undefined) {
    const m = z
      .record(z.string(), z.unknown())
      .safeParse(parseClientJson(parsed.data.metadata, maxDepth, 'field metadata'));
    if (!m.success) throw new AppError('validation_error', 'metadata must be a JSON object');
    metadata = m.data;
  }
  const source = parsed.data.source ?? file.name;
  if (!source) throw new AppError('validation_error', 'the file has no name: send a `source` field');
  return { source, bytes: file.bytes, format: parsed.data.format, title: parsed.data.title, metadata };
}

function fromJson(body: unknown): IngestInput {
  const parsed = ingestJsonBody.safeParse(body);
  if (!parsed.success) throw validation(parsed.error);
  const b = parsed.data;
  const bytes =
    b.content !== undefined ? Buffer.from(b.content, 'utf8') : Buffer.from(b.content_base64 ?? '', 'base64');
  return { source: b.source, bytes, format: b.format, title: b.title, metadata: b.metadata };
}

export const knowledgeBaseRoutes =
  ({ memory, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const kbs = memory.knowledgeBases;
    const maxBytes = config.memory.max_document_bytes;
    // Multipart is parsed only by the routes of this plugin (encapsulated), streamed and size-capped.
    // A file over the cap comes back truncated and `fromMultipart` answers 413 payload_too_large; by
    // default the plugin would throw its own 413, which the error handler can only call bad_request.
    await fastify.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 100_000 },
      throwFileSizeLimit: false,
    });
    registerNdjson(fastify, config.server.json_max_depth);
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const ctxOf = (req: FastifyRequest) => {
      const p = principalOf(req);
      return { tenantId: p.tenantId, tenantName: p.tenantName, requestId: req.id };
    };
    // Every route under /v1/knowledge-bases/:id (documents, search, ingest) answers 404 for another
    // user's private knowledge base, as for one that does not exist; admins skip the look-up.
    app.addHook('preHandler', async (req) => {
      const id = (req.params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && req.principal)
        await kbs.assertVisible(req.principal.tenantId, id, viewerOf(req));
    });

    app.post(
      '/v1/knowledge-bases',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create a knowledge base',
          body: createKbBody,
          response: { 201: knowledgeBaseSchema, ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await kbs.create(principalOf(req).tenantId, req.body, actorOf(req), principalOf(req).userId)),
    );

    app.get(
      '/v1/knowledge-bases',
      {
        schema: {
          tags,
          summary: 'List knowledge bases',
          querystring: listQuery,
          response: { 200: pageOf(knowledgeBaseSchema), ...authErrors },
        },
      },
      async (req) => kbs.list(principalOf(req).tenantId, req.query, viewerOf(req)),
    );

    app.get(
      '/v1/knowledge-bases/:id',
      {
        schema: {
          tags,
          summary: 'Get a knowledge base',
          params: idParams,
          response: { 200: knowledgeBaseSchema, ...authErrors },
        },
      },
      async (req) => {
        const { revision: _, ...kb } = await kbs.get(principalOf(req).tenantId, req.params.id);
        return kb;
      },
    );

    app.patch(
      '/v1/knowledge-bases/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Change the name, description or metadata of a knowledge base',
          params: idParams,
          body: updateKbBody,
          response: { 200: knowledgeBaseSchema, ...authErrors, 409: errorResponse },
        },
      },
      async (req) =>
        kbs.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req), viewerOf(req)),
    );

    app.delete(
      '/v1/knowledge-bases/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Delete a knowledge base with its documents and chunks; 409 naming the agents that search it',
          params: idParams,
          response: { 204: z.null(), ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        await kbs.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/knowledge-bases/:id/documents',
      {
        config: { auth: 'write', admission: 'ingest' },
        // Base64 in JSON is a third larger than the bytes it carries.
        bodyLimit: Math.ceil(maxBytes * 1.4) + 100_000,
        schema: {
          tags,
          summary:
            'Add or replace a document (JSON with `content` or `content_base64`, or a multipart `file`), or many at once ' +
            '(a JSON array or NDJSON of such documents, each with its own result); an unchanged one is left as it is. ' +
            'With `async=true` a batch answers 202 at once with an ingest to follow at /ingests/{ingestId}',
          params: idParams,
          querystring: asyncQuery,
          response: {
            200: z.union([ingestResultSchema, batchResultSchema]),
            201: ingestResultSchema,
            202: ingestJobSchema,
            ...authErrors,
            413: errorResponse,
            422: errorResponse,
          },
        },
      },
      async (req, reply) => {
        if (req.query.async) {
          const job = await startAsyncIngest(memory, req.body, {
            tenantId: principalOf(req).tenantId,
            kbId: req.params.id,
            ctx: ctxOf(req),
            who: actorOf(req),
          });
          return reply
            .code(202)
            .header('location', `/v1/knowledge-bases/${req.params.id}/ingests/${job.id}`)
            .send(job);
        }
        if (Array.isArray(req.body))
          return ingestBatchBody(memory, req.body, {
            tenantId: principalOf(req).tenantId,
            kbId: req.params.id,
            ctx: ctxOf(req),
            who: actorOf(req),
          });
        const input = req.isMultipart()
          ? await fromMultipart(req, maxBytes, config.server.json_max_depth)
          : fromJson(req.body);
        const result = await memory.ingest(
          principalOf(req).tenantId,
          req.params.id,
          input,
          ctxOf(req),
          actorOf(req),
        );
        return reply.code(result.status === 'created' ? 201 : 200).send(result);
      },
    );

    app.get(
      '/v1/knowledge-bases/:id/documents',
      {
        schema: {
          tags,
          summary: "A knowledge base's documents, by source",
          params: idParams,
          querystring: pageQuery,
          response: { 200: pageOf(documentSchema), ...authErrors },
        },
      },
      async (req) => kbs.listDocuments(principalOf(req).tenantId, req.params.id, req.query),
    );

    app.get(
      '/v1/knowledge-bases/:id/documents/:documentId',
      {
        schema: {
          tags,
          summary: 'Get a document',
          params: docParams,
          response: { 200: documentSchema, ...authErrors },
        },
      },
      async (req) => kbs.getDocument(principalOf(req).tenantId, req.params.id, req.params.documentId),
    );

    app.get(
      '/v1/knowledge-bases/:id/documents/:documentId/chunks',
      {
        schema: {
          tags,
          summary: "A document's chunks, in document order: the passages search finds",
          params: docParams,
          querystring: pageQuery,
          response: { 200: pageOf(chunkSchema), ...authErrors },
        },
      },
      async (req) =>
        kbs.listChunks(principalOf(req).tenantId, req.params.id, req.params.documentId, req.query),
    );

    app.delete(
      '/v1/knowledge-bases/:id/documents/:documentId',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a document and its chunks',
          params: docParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await kbs.deleteDocument(
          principalOf(req).tenantId,
          req.params.id,
          req.params.documentId,
          actorOf(req),
        );
        return reply.code(204).send(null);
      },
    );

    registerIngestStatus(app, memory);

    app.post(
      '/v1/knowledge-bases/:id/search',
      {
        schema: {
          tags,
          summary:
            'Hybrid search: full-text and vector similarity fused by reciprocal rank (full-text only without embeddings)',
          params: idParams,
          body: searchBody,
          response: { 200: searchResultSchema, ...authErrors },
        },
      },
      async (req) => memory.search(principalOf(req).tenantId, req.params.id, req.body, ctxOf(req)),
    );
  };
