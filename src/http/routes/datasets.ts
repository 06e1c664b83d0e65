import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../db/page.ts';
import { AppError } from '../../errors.ts';
import { CSV_HEADER, csvLine, jsonlLine } from '../../eval/datasets/export.ts';
import type { Parsed } from '../../eval/datasets/parse.ts';
import {
  addItemsBody,
  createDatasetBody,
  datasetItem,
  datasetItemParams,
  datasetParams,
  datasetSchema,
  datasetVersion,
  exportQuery,
  fromRunBody,
  importQuery,
  importResult,
  itemPatch,
  listItemsQuery,
  updateDatasetBody,
} from '../../eval/datasets/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse } from './common.ts';
import { readImport } from './dataset-import.ts';

const tags = ['datasets'];
/** The most an import body may hold: its own limit, above the API's JSON body limit. */
const IMPORT_MAX_BYTES = 64 * 1024 * 1024;

/** An import body as its parser read it (any other body is refused 415). */
class ImportBody {
  constructor(readonly parsed: Parsed) {}
}
const errors = { ...authErrors, 409: errorResponse, 413: errorResponse, 422: errorResponse };

/** Content types of a bulk import body, read as text; `?format=` or the content type says which. */
const IMPORT_TYPES: Record<string, 'jsonl' | 'csv'> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'text/csv': 'csv',
  'text/plain': 'jsonl',
};

export const datasetRoutes =
  ({ datasets }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // Only this plugin's routes take these bodies (Fastify scopes parsers to their plugin): the import,
    // read as it arrives under its own limit.
    app.addContentTypeParser(
      Object.keys(IMPORT_TYPES),
      async (req: FastifyRequest, payload: IncomingMessage) => {
        const asked = (req.query as { format?: unknown }).format;
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = asked === 'csv' || asked === 'jsonl' ? asked : (IMPORT_TYPES[type] ?? 'jsonl');
        const declared = Number(req.headers['content-length']);
        return new ImportBody(
          await readImport(
            payload,
            format,
            IMPORT_MAX_BYTES,
            Number.isFinite(declared) ? declared : undefined,
          ),
        );
      },
    );

    app.post(
      '/v1/datasets',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create a dataset (optionally with its first items)',
          body: createDatasetBody,
          response: { 201: datasetSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await datasets.create(principalOf(req).tenantId, req.body, actorOf(req), viewerOf(req))),
    );

    app.get(
      '/v1/datasets',
      {
        schema: {
          tags,
          summary: "List datasets (another user's private ones are not listed)",
          querystring: pageQuery,
          response: { 200: pageOf(datasetSchema), ...errors },
        },
      },
      async (req) => datasets.list(principalOf(req).tenantId, req.query, viewerOf(req)),
    );

    app.get(
      '/v1/datasets/:id',
      {
        schema: {
          tags,
          summary: 'Get a dataset by id or name',
          params: datasetParams,
          response: { 200: datasetSchema, ...errors },
        },
      },
      async (req) => datasets.get(principalOf(req).tenantId, req.params.id, viewerOf(req)),
    );

    app.patch(
      '/v1/datasets/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Rename a dataset, change its description or its visibility (its owner or an admin)',
          params: datasetParams,
          body: updateDatasetBody,
          response: { 200: datasetSchema, ...errors },
        },
      },
      async (req) =>
        datasets.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req), viewerOf(req)),
    );

    app.delete(
      '/v1/datasets/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a dataset and its items',
          params: datasetParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await datasets.delete(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/datasets/:id/items',
      {
        schema: {
          tags,
          summary: "List a dataset's items, oldest first (optionally those with a tag, or as of a version)",
          params: datasetParams,
          querystring: listItemsQuery,
          response: { 200: pageOf(datasetItem), ...errors },
        },
      },
      async (req) => datasets.listItems(principalOf(req).tenantId, req.params.id, req.query, viewerOf(req)),
    );

    app.post(
      '/v1/datasets/:id/items',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Add items',
          params: datasetParams,
          body: addItemsBody,
          response: { 201: z.object({ data: z.array(datasetItem) }), ...errors },
        },
      },
      async (req, reply) =>
        reply.code(201).send({
          data: await datasets.addItems(
            principalOf(req).tenantId,
            req.params.id,
            req.body.items,
            viewerOf(req),
          ),
        }),
    );

    app.post(
      '/v1/datasets/:id/import',
      {
        config: { auth: 'write' },
        bodyLimit: IMPORT_MAX_BYTES,
        schema: {
          tags,
          summary:
            'Import items from JSONL or CSV as one version; bad lines are named by number and the rest imported',
          description:
            'Body (up to 64 MiB, read as it arrives): JSONL (`application/x-ndjson`, one item per line as POST /items takes it) or CSV (`text/csv`, a header naming `input` or `message`, `task_type`, `payload`, `title`, `expected`, `metadata`, `tags`).',
          params: datasetParams,
          querystring: importQuery,
          response: { 200: importResult, ...errors },
        },
      },
      async (req) => {
        const body: unknown = req.body;
        if (!(body instanceof ImportBody))
          throw new AppError(
            'unsupported_media_type',
            `send the items as ${Object.keys(IMPORT_TYPES).join(', ')}`,
          );
        return datasets.import(principalOf(req).tenantId, req.params.id, body.parsed, viewerOf(req));
      },
    );

    app.get(
      '/v1/datasets/:id/export',
      {
        schema: {
          tags,
          summary: 'Export the items (now, or as of a version) as JSONL or CSV, the formats import takes',
          description:
            'Streamed as it is read. CSV: the columns `message`, `task_type`, `payload`, `title`, `expected` (as it is when a string, else JSON), `metadata` (JSON) and `tags` (joined with `|`).',
          params: datasetParams,
          querystring: exportQuery,
          produces: ['application/x-ndjson', 'text/csv'],
          response: { 200: z.string(), ...errors },
        },
      },
      async (req, reply) => {
        const { format, version } = req.query;
        const { dataset, items } = await datasets.allItems(
          principalOf(req).tenantId,
          req.params.id,
          viewerOf(req),
          version,
        );
        const line = format === 'csv' ? csvLine : jsonlLine;
        async function* lines() {
          if (format === 'csv') yield CSV_HEADER;
          for await (const item of items) yield line(item);
        }
        return (
          reply
            .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
            .header(
              'content-disposition',
              `attachment; filename="${dataset.name}${version === undefined ? '' : `@${version}`}.${format}"`,
            )
            // A stream is sent as it is, never serialised: the schema's string only documents the body.
            .send(Readable.from(lines()) as unknown as string)
        );
      },
    );

    app.get(
      '/v1/datasets/:id/versions',
      {
        schema: {
          tags,
          summary: "List a dataset's versions, newest first: what each changed and its item count",
          params: datasetParams,
          querystring: pageQuery,
          response: { 200: pageOf(datasetVersion), ...errors },
        },
      },
      async (req) => datasets.versions(principalOf(req).tenantId, req.params.id, req.query, viewerOf(req)),
    );

    app.post(
      '/v1/datasets/:id/items/from-run',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Add a recorded run as an item: its input, and its output as the expected output',
          params: datasetParams,
          body: fromRunBody,
          response: { 201: datasetItem, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await datasets.addFromRun(principalOf(req).tenantId, req.params.id, req.body, viewerOf(req))),
    );

    app.get(
      '/v1/datasets/:id/items/:item_id',
      {
        schema: {
          tags,
          summary: 'Get an item',
          params: datasetItemParams,
          response: { 200: datasetItem, ...errors },
        },
      },
      async (req) =>
        datasets.getItem(principalOf(req).tenantId, req.params.id, req.params.item_id, viewerOf(req)),
    );

    app.patch(
      '/v1/datasets/:id/items/:item_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Change the fields sent',
          params: datasetItemParams,
          body: itemPatch,
          response: { 200: datasetItem, ...errors },
        },
      },
      async (req) =>
        datasets.updateItem(
          principalOf(req).tenantId,
          req.params.id,
          req.params.item_id,
          req.body,
          viewerOf(req),
        ),
    );

    app.delete(
      '/v1/datasets/:id/items/:item_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete an item',
          params: datasetItemParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await datasets.deleteItem(
          principalOf(req).tenantId,
          req.params.id,
          req.params.item_id,
          viewerOf(req),
        );
        return reply.code(204).send(null);
      },
    );
  };
