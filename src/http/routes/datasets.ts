import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../db/page.ts';
import { AppError } from '../../errors.ts';
import {
  addItemsBody,
  createDatasetBody,
  datasetItem,
  datasetItemParams,
  datasetParams,
  datasetSchema,
  fromRunBody,
  importQuery,
  importResult,
  itemPatch,
  listItemsQuery,
  updateDatasetBody,
} from '../../eval/datasets/schema.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse } from './common.ts';

const tags = ['datasets'];
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
    // Only this plugin's routes take these bodies (Fastify scopes parsers to their plugin).
    app.addContentTypeParser(Object.keys(IMPORT_TYPES), { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
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
        reply.code(201).send(await datasets.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.get(
      '/v1/datasets',
      {
        schema: {
          tags,
          summary: 'List datasets',
          querystring: pageQuery,
          response: { 200: pageOf(datasetSchema), ...errors },
        },
      },
      async (req) => datasets.list(principalOf(req).tenantId, req.query),
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
      async (req) => datasets.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/datasets/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Rename a dataset or change its description',
          params: datasetParams,
          body: updateDatasetBody,
          response: { 200: datasetSchema, ...errors },
        },
      },
      async (req) => datasets.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
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
        await datasets.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/datasets/:id/items',
      {
        schema: {
          tags,
          summary: "List a dataset's items, oldest first (optionally those with a tag)",
          params: datasetParams,
          querystring: listItemsQuery,
          response: { 200: pageOf(datasetItem), ...errors },
        },
      },
      async (req) => datasets.listItems(principalOf(req).tenantId, req.params.id, req.query),
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
        reply
          .code(201)
          .send({ data: await datasets.addItems(principalOf(req).tenantId, req.params.id, req.body.items) }),
    );

    app.post(
      '/v1/datasets/:id/import',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Import items from JSONL or CSV; bad lines are named by number and the rest imported',
          description:
            'Body: JSONL (`application/x-ndjson`, one item per line as POST /items takes it) or CSV (`text/csv`, a header naming `input` or `message`, `task_type`, `payload`, `title`, `expected`, `metadata`, `tags`).',
          params: datasetParams,
          querystring: importQuery,
          response: { 200: importResult, ...errors },
        },
      },
      async (req) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = req.query.format ?? IMPORT_TYPES[type];
        if (typeof req.body !== 'string' || !format)
          throw new AppError(
            'unsupported_media_type',
            `send the items as ${Object.keys(IMPORT_TYPES).join(', ')}`,
          );
        return datasets.import(principalOf(req).tenantId, req.params.id, format, req.body);
      },
    );

    app.get(
      '/v1/datasets/:id/export',
      {
        schema: {
          tags,
          summary: 'Export the items as JSONL (the format import takes)',
          params: datasetParams,
          produces: ['application/x-ndjson'],
          response: { 200: z.string(), ...errors },
        },
      },
      async (req, reply) => {
        const tenantId = principalOf(req).tenantId;
        const { name } = await datasets.get(tenantId, req.params.id);
        const lines: string[] = [];
        for await (const item of datasets.allItems(tenantId, req.params.id)) {
          lines.push(
            JSON.stringify({
              input: item.input,
              ...(item.expected !== null && { expected: item.expected }),
              metadata: item.metadata,
              tags: item.tags,
            }),
          );
        }
        return reply
          .type('application/x-ndjson')
          .header('content-disposition', `attachment; filename="${name}.jsonl"`)
          .send(lines.length ? `${lines.join('\n')}\n` : '');
      },
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
        reply.code(201).send(await datasets.addFromRun(principalOf(req).tenantId, req.params.id, req.body)),
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
      async (req) => datasets.getItem(principalOf(req).tenantId, req.params.id, req.params.item_id),
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
        datasets.updateItem(principalOf(req).tenantId, req.params.id, req.params.item_id, req.body),
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
        await datasets.deleteItem(principalOf(req).tenantId, req.params.id, req.params.item_id);
        return reply.code(204).send(null);
      },
    );
  };
