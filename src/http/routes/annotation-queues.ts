import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageFields, pageOf } from '../../db/page.ts';
import { datasetItem } from '../../eval/datasets/schema.ts';
import {
  fillBody,
  fillResult,
  itemStatuses,
  newQueueBody,
  nextResult,
  progressSchema,
  queueItemParams,
  queueItemSchema,
  queueListQuery,
  queueParams,
  queuePatch,
  queueSchema,
  reviewItemSchema,
  submitBody,
  submitResult,
  toDatasetBody,
} from '../../eval/queues/schema.ts';
import { scoreAuthorOf } from '../../eval/scores/source.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentIdOf, authErrors, errorResponse } from './common.ts';

const tags = ['annotation queues'];
const conflict = { 409: errorResponse };
const itemListQuery = z.object({ ...pageFields, status: z.enum(itemStatuses).optional() }).strict();

/** Annotation queues: runs set aside for people to score against a queue's configs (docs/review.md). */
export const annotationQueueRoutes =
  ({ annotationQueues: queues, reviews, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/annotation-queues',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Make an annotation queue: the score configs reviewers submit, a target dataset, a claim lease',
          body: newQueueBody,
          response: { 201: queueSchema, ...authErrors, ...conflict },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        return reply
          .code(201)
          .send(await queues.create(p.tenantId, req.body, scoreAuthorOf(p).author, actorOf(req)));
      },
    );

    app.get(
      '/v1/annotation-queues',
      {
        schema: {
          tags,
          summary: "The tenant's annotation queues by name, with their counts",
          querystring: queueListQuery,
          response: { 200: pageOf(queueSchema), ...authErrors },
        },
      },
      async (req) => queues.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/annotation-queues/:id',
      {
        schema: {
          tags,
          summary: 'An annotation queue with its counts',
          params: queueParams,
          response: { 200: queueSchema, ...authErrors },
        },
      },
      async (req) => queues.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/annotation-queues/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Change a queue's name, description, score configs, dataset (null: none) or lease",
          params: queueParams,
          body: queuePatch,
          response: { 200: queueSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => queues.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.delete(
      '/v1/annotation-queues/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a queue and its items; the scores reviewers submitted stay on their runs',
          params: queueParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await queues.remove(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/annotation-queues/:id/items',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Fill a queue from GET /v1/runs's filters (and agent_version), an experiment's items or run ids; a run is in a queue once",
          params: queueParams,
          body: fillBody,
          response: { 200: fillResult, ...authErrors, 422: errorResponse },
        },
      },
      async (req) => {
        const { runs } = req.body;
        const agent_id =
          runs?.agent_id === undefined ? undefined : await agentIdOf(agents, req, runs.agent_id);
        const body = runs ? { ...req.body, runs: { ...runs, agent_id } } : req.body;
        return queues.fill(principalOf(req).tenantId, req.params.id, body, actorOf(req));
      },
    );

    app.get(
      '/v1/annotation-queues/:id/items',
      {
        schema: {
          tags,
          summary: "A queue's items in the order they are offered, by status",
          params: queueParams,
          querystring: itemListQuery,
          response: { 200: pageOf(queueItemSchema), ...authErrors },
        },
      },
      async (req) => {
        const tenantId = principalOf(req).tenantId;
        await queues.get(tenantId, req.params.id);
        return reviews.list(tenantId, req.params.id, req.query);
      },
    );

    app.get(
      '/v1/annotation-queues/:id/items/:item_id',
      {
        schema: {
          tags,
          summary:
            "An item as a reviewer sees it: the run's input and output, expected output, trace, scores",
          params: queueItemParams,
          response: { 200: reviewItemSchema, ...authErrors },
        },
      },
      async (req) => reviews.read(principalOf(req).tenantId, req.params.id, req.params.item_id),
    );

    app.post(
      '/v1/annotation-queues/:id/next',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Claim the next item for the queue's lease (the one you hold, renewed, if any); review is null when none is left",
          params: queueParams,
          response: { 200: nextResult, ...authErrors },
        },
      },
      async (req) => {
        const p = principalOf(req);
        const review = await reviews.next(p.tenantId, req.params.id, scoreAuthorOf(p).author);
        const { counts } = await queues.get(p.tenantId, req.params.id);
        return { review, counts };
      },
    );

    app.post(
      '/v1/annotation-queues/:id/items/:item_id/submit',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Score the item you hold with a value for each of the queue's configs (source and author from the credential) and a comment; it is done",
          params: queueItemParams,
          body: submitBody,
          response: { 200: submitResult, ...authErrors, ...conflict },
        },
      },
      async (req) => {
        const p = principalOf(req);
        const { id, item_id } = req.params;
        return reviews.submit(p.tenantId, id, item_id, req.body, scoreAuthorOf(p));
      },
    );

    app.post(
      '/v1/annotation-queues/:id/items/:item_id/skip',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Skip the item you hold: it is set aside and not offered again',
          params: queueItemParams,
          response: { 200: queueItemSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => {
        const p = principalOf(req);
        return reviews.skip(p.tenantId, req.params.id, req.params.item_id, scoreAuthorOf(p));
      },
    );

    app.post(
      '/v1/annotation-queues/:id/items/:item_id/dataset',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Add the item's run to a dataset (the queue's unless named) with a corrected expected output",
          params: queueItemParams,
          body: toDatasetBody,
          response: { 201: datasetItem, ...authErrors, 422: errorResponse },
        },
      },
      async (req, reply) => {
        const { id, item_id } = req.params;
        const made = await reviews.toDataset(principalOf(req).tenantId, id, item_id, req.body, viewerOf(req));
        return reply.code(201).send(made);
      },
    );

    app.get(
      '/v1/annotation-queues/:id/progress',
      {
        schema: {
          tags,
          summary: "A queue's counts (pending, claimed, done, skipped) and each reviewer's",
          params: queueParams,
          response: { 200: progressSchema, ...authErrors },
        },
      },
      async (req) => reviews.progress(principalOf(req).tenantId, req.params.id),
    );
  };
