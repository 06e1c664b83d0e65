import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { IngestInput } from '../../memory/ingest.ts';
import type { Memory } from '../../memory/memory.ts';
import {
  type BatchResult,
  type IngestJob,
  ingestJobSchema,
  ingestJsonBody,
  MAX_BATCH_DOCUMENTS,
} from '../../memory/schema.ts';
import { principalOf } from '../caller.ts';
import { authErrors } from './common.ts';
import { BadLine, readNdjson, tooManyDocuments } from './ndjson-batch.ts';

/**
 * Batch ingest for `POST /v1/knowledge-bases/{id}/documents`: a JSON array of documents, or NDJSON
 * (`application/x-ndjson`, one document per line), each shaped as the single-document JSON body.
 * Every item gets its own result; an item that does not validate, cannot be read or fails to embed
 * gets its own error and the others go on, so the request itself answers 200.
 */

/**
 * NDJSON is read line by line as it arrives (`readNdjson`): a bad line is that item's error alone,
 * held to the rules of a JSON body (`parseClientJson`: depth, NUL and lone surrogates, prototype
 * keys) and named by its line; past MAX_BATCH_DOCUMENTS lines the batch is a 413 at once.
 */
export function registerNdjson(app: FastifyInstance, maxDepth: number): void {
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/ndjson'],
    (req: FastifyRequest, payload: IncomingMessage) => {
      const declared = Number(req.headers['content-length']);
      return readNdjson(
        payload,
        {
          maxItems: MAX_BATCH_DOCUMENTS,
          maxDepth,
          maxBytes: req.routeOptions.bodyLimit ?? req.server.initialConfig.bodyLimit,
        },
        Number.isFinite(declared) ? declared : undefined,
      );
    },
  );
}

type Item = { index: number; source: string | null } & ({ input: IngestInput } | { error: AppError });

function readItem(raw: unknown, index: number): Item {
  const source =
    raw && typeof raw === 'object' && typeof (raw as { source?: unknown }).source === 'string'
      ? (raw as { source: string }).source
      : null;
  if (raw instanceof BadLine) return { index, source, error: raw.error };
  const parsed = ingestJsonBody.safeParse(raw);
  if (!parsed.success)
    return {
      index,
      source,
      error: new AppError('validation_error', 'document is not valid', {
        details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      }),
    };
  const b = parsed.data;
  const bytes =
    b.content !== undefined ? Buffer.from(b.content, 'utf8') : Buffer.from(b.content_base64 ?? '', 'base64');
  return {
    index,
    source: b.source,
    input: { source: b.source, bytes, format: b.format, title: b.title, metadata: b.metadata },
  };
}

/** An empty batch is 400, one over MAX_BATCH_DOCUMENTS 413: checked before anything is read or started. */
export function checkBatchSize(body: unknown[]): void {
  if (body.length === 0) throw new AppError('validation_error', 'the batch is empty');
  if (body.length > MAX_BATCH_DOCUMENTS) throw tooManyDocuments(MAX_BATCH_DOCUMENTS, body.length);
}

/** Ingests a batch body (already parsed to an array) and builds the per-item response. */
export async function ingestBatchBody(
  memory: Memory,
  body: unknown[],
  call: {
    tenantId: string;
    kbId: string;
    ctx: Parameters<Memory['ingestMany']>[3];
    who: Parameters<Memory['ingestMany']>[4];
    /** Items done and failed so far, after each written group (items refused before any write count from the start). */
    onProgress?: (done: number, failed: number) => void | Promise<void>;
  },
): Promise<BatchResult> {
  checkBatchSize(body);
  const items = body.map(readItem);
  const valid = items.filter((i): i is Item & { input: IngestInput } => 'input' in i);
  // A source twice in one batch would race itself: the later one is refused, the first one stands.
  const seen = new Set<string>();
  for (const i of valid) {
    if (seen.has(i.input.source))
      Object.assign(i, {
        error: new AppError('validation_error', `${i.input.source} appears twice in the batch`),
      });
    seen.add(i.input.source);
  }
  const todo = valid.filter((i) => !('error' in i));
  const refused = items.length - todo.length;
  const results = await memory.ingestMany(
    call.tenantId,
    call.kbId,
    todo.map((i) => i.input),
    call.ctx,
    call.who,
    call.onProgress && ((done, failed) => call.onProgress?.(refused + done, refused + failed)),
  );
  const out: BatchResult = { data: [], created: 0, updated: 0, unchanged: 0, failed: 0 };
  const byIndex = new Map(results.map((r) => [todo[r.index]!.index, r]));
  for (const item of items) {
    const r = byIndex.get(item.index);
    const error = r && !r.ok ? r.error : 'error' in item ? item.error : undefined;
    if (error || !r?.ok) {
      out.failed += 1;
      const e = error ?? new AppError('internal', 'not ingested');
      out.data.push({
        index: item.index,
        source: item.source,
        status: 'failed',
        error: {
          code: e.code,
          // An internal failure's message stays in the log, as for a whole request's 5xx.
          message: e.status >= 500 ? 'internal error' : e.message,
          ...(e.details !== undefined && { details: e.details }),
        },
      });
      continue;
    }
    out[r.result.status] += 1;
    out.data.push({
      index: item.index,
      source: item.source,
      status: r.result.status,
      document: r.result.document,
    });
  }
  return out;
}

/** `?async=true` on the documents route: answer 202 at once and ingest in the background. */
export const asyncQuery = z
  .object({
    async: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
  })
  .strict();

type BatchCall = Omit<Parameters<typeof ingestBatchBody>[2], 'onProgress'>;

/**
 * Starts a batch in the background. The batch's size and the knowledge base are checked first, so
 * those mistakes are still the request's 4xx; items then fail one by one in the finished result.
 */
export async function startAsyncIngest(memory: Memory, body: unknown, call: BatchCall): Promise<IngestJob> {
  if (!Array.isArray(body))
    throw new AppError(
      'validation_error',
      'async=true takes a batch: a JSON array or NDJSON of documents (send one document without it)',
    );
  checkBatchSize(body);
  const kb = await memory.knowledgeBases.record(call.tenantId, call.kbId);
  return memory.ingests.start(call.tenantId, kb.id, body.length, (onProgress) =>
    ingestBatchBody(memory, body, { ...call, onProgress }),
  );
}

/** `GET /v1/knowledge-bases/{id}/ingests/{ingestId}`: a background ingest's progress and, once done, its results. */
export function registerIngestStatus(app: FastifyInstance, memory: Memory): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/knowledge-bases/:id/ingests/:ingestId',
    {
      schema: {
        tags: ['knowledge-bases'],
        summary:
          'A background batch ingest: items done and failed so far, and per-item results once finished',
        description:
          'Kept `memory.ingest_retention_days` days (default 7) after it ends; 404 once deleted or with its knowledge base.',
        params: z.object({ id: z.uuid(), ingestId: z.uuid() }).strict(),
        response: { 200: ingestJobSchema, ...authErrors },
      },
    },
    async (req) => memory.ingests.get(principalOf(req).tenantId, req.params.id, req.params.ingestId),
  );
}
