import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageFields, pageOf } from '../../db/page.ts';
import {
  compareQuery,
  comparisonSchema,
  createExperimentBody,
  experimentItemSchema,
  experimentSchema,
  experimentStatuses,
  experimentWithSummary,
  itemParams,
  listItemsQuery,
  reportOutputBody,
} from '../../eval/experiments/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { eventFrame, lastEventId, openSse } from '../sse.ts';
import { authErrors, errorResponse, eventStream, idParams } from './common.ts';

const tags = ['experiments'];
const errors = { ...authErrors, 409: errorResponse, 422: errorResponse };

const listQuery = z
  .object({ ...pageFields, dataset: z.uuid().optional(), status: z.enum(experimentStatuses).optional() })
  .strict();

const eventsQuery = z.object({ after: z.coerce.number().int().min(0).default(0) }).strict();
const eventSchema = z.object({
  seq: z.number(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});

export const experimentRoutes =
  ({ experiments }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/experiments',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Run an agent (optionally a version: `agent_version`, or `name@3`), a team, a model with a prompt, or the caller’s own function (`subject: external`) over a dataset with evaluators',
          body: createExperimentBody,
          response: { 201: experimentSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await experiments.create(principalOf(req).tenantId, req.body, actorOf(req), viewerOf(req))),
    );

    app.get(
      '/v1/experiments',
      {
        schema: {
          tags,
          summary: 'List experiments, newest first',
          querystring: listQuery,
          response: { 200: pageOf(experimentSchema), ...errors },
        },
      },
      async (req) => experiments.list(principalOf(req).tenantId, req.query, viewerOf(req)),
    );

    app.get(
      '/v1/experiments/compare',
      {
        schema: {
          tags,
          summary:
            'Compare experiments against a baseline: per item (improved, regressed, error) and per evaluator (mean paired delta, 95% interval, verdict)',
          querystring: compareQuery,
          response: { 200: comparisonSchema, ...errors },
        },
      },
      async (req) =>
        experiments.compare(
          principalOf(req).tenantId,
          req.query.ids,
          req.query.change,
          viewerOf(req),
          req.query.baseline,
        ),
    );

    app.get(
      '/v1/experiments/:id',
      {
        schema: {
          tags,
          summary: 'An experiment: progress, and the summary of what has finished',
          params: idParams,
          response: { 200: experimentWithSummary, ...errors },
        },
      },
      async (req) => experiments.getWithSummary(principalOf(req).tenantId, req.params.id, viewerOf(req)),
    );

    app.get(
      '/v1/experiments/:id/items',
      {
        schema: {
          tags,
          summary: 'Per-item results: output, scores with reasons, run, latency, tokens, cost',
          params: idParams,
          querystring: listItemsQuery,
          response: { 200: pageOf(experimentItemSchema), ...errors },
        },
      },
      async (req) => experiments.items(principalOf(req).tenantId, req.params.id, req.query, viewerOf(req)),
    );

    app.post(
      '/v1/experiments/:id/items/:item_id/output',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Report what the caller’s own function answered for an item (subject `external`); the experiment’s evaluators score it. The first report of an item wins: a repeat answers the item as recorded',
          params: itemParams,
          body: reportOutputBody,
          response: { 200: experimentItemSchema, ...errors },
        },
      },
      async (req) =>
        experiments.reportOutput(
          principalOf(req).tenantId,
          req.params.id,
          req.params.item_id,
          req.body,
          viewerOf(req),
        ),
    );

    app.get(
      '/v1/experiments/:id/events',
      {
        schema: {
          tags,
          summary:
            'Progress events after `after` (experiment.item, experiment.stopped, experiment.resumed, experiment.completed); `…/stream` follows them live',
          params: idParams,
          querystring: eventsQuery,
          response: { 200: z.object({ data: z.array(eventSchema) }), ...errors },
        },
      },
      async (req) => ({
        data: await experiments.events(
          principalOf(req).tenantId,
          req.params.id,
          req.query.after,
          viewerOf(req),
        ),
      }),
    );

    app.get(
      '/v1/experiments/:id/stream',
      {
        schema: {
          tags,
          summary:
            'Server-Sent Events of an experiment: `experiment.progress` now, then its logged events (experiment.item, ' +
            'experiment.stopped, experiment.resumed, experiment.completed) live, resumable with Last-Event-ID, and ' +
            'an `experiment.summary` with the summary once it ends',
          operationId: 'streamExperimentEvents',
          params: idParams,
          querystring: z.object({ last_event_id: z.string().max(20).optional() }).strict(),
          produces: ['text/event-stream'],
          response: { 200: eventStream("The experiment's progress events"), ...errors },
        },
      },
      async (req, reply) => {
        const tenantId = principalOf(req).tenantId;
        const viewer = viewerOf(req);
        const id = req.params.id;
        // 404 before any byte is streamed.
        const now = await experiments.get(tenantId, id, viewer);
        const sse = openSse(req, reply);
        try {
          await sse.send({ event: 'experiment.progress', data: { status: now.status, ...now.progress } });
          const events = experiments.follow(
            tenantId,
            id,
            { afterSeq: lastEventId(req), signal: sse.signal },
            viewer,
          );
          let next = await events.next();
          for (; !next.done; next = await events.next()) await sse.send(eventFrame(next.value));
          const ended = next.value;
          if (ended && !sse.signal.aborted) {
            const done = await experiments.getWithSummary(tenantId, id, viewer);
            await sse.send({
              event: 'experiment.summary',
              data: {
                status: done.status,
                stop_reason: done.stop_reason,
                progress: done.progress,
                summary: done.summary,
              },
            });
          }
        } catch (err) {
          req.log.warn({ err }, 'experiment event stream ended with an error');
        } finally {
          sse.close();
        }
      },
    );

    for (const action of ['cancel', 'resume'] as const) {
      app.post(
        `/v1/experiments/:id/${action}`,
        {
          config: { auth: 'write' },
          schema: {
            tags,
            summary:
              action === 'cancel'
                ? 'Stop handing out items (those running finish and are recorded)'
                : 'Carry on a stopped experiment with its unfinished items',
            params: idParams,
            response: { 200: experimentSchema, ...errors },
          },
        },
        async (req) =>
          experiments[action](principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req)),
      );
    }

    app.delete(
      '/v1/experiments/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a finished experiment and its results',
          params: idParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await experiments.delete(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req));
        return reply.code(204).send(null);
      },
    );
  };
