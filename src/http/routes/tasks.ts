import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../db/page.ts';
import {
  callbackDeliverySchema,
  createTaskBody,
  listTasksQuery,
  queueStatusSchema,
  reportBody,
  taskSchema,
} from '../../tasks/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { eventFrame, lastEventId, openSse } from '../sse.ts';
import { agentIdOf, agentPinOf, authErrors, errorResponse, eventStream, idParams } from './common.ts';

const tags = ['tasks'];
const page = pageOf(taskSchema);
const conflict = { 409: errorResponse };

export const taskRoutes =
  ({ tasks, callbackSecrets, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/tasks',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Enqueue a task (202); the same idempotency_key returns the existing task (200)',
          body: createTaskBody,
          response: { 200: taskSchema, 202: taskSchema, ...authErrors },
        },
      },
      async (req, reply) => {
        const pin = await agentPinOf(agents, req, req.body.agent_id, req.body.agent_version);
        const { task, created } = await tasks.create(
          principalOf(req).tenantId,
          { ...req.body, agent_id: pin.agentId, agent_version: pin.version },
          actorOf(req),
          viewerOf(req),
        );
        return reply.code(created ? 202 : 200).send(task);
      },
    );

    app.get(
      '/v1/tasks',
      {
        schema: {
          tags,
          summary: 'List tasks, newest first',
          querystring: listTasksQuery,
          response: { 200: page, ...authErrors },
        },
      },
      async (req) => {
        const { agent_id: ref, ...q } = req.query;
        const agent_id = ref === undefined ? undefined : await agentIdOf(agents, req, ref);
        return tasks.list(principalOf(req).tenantId, { ...q, agent_id }, viewerOf(req));
      },
    );

    app.get(
      '/v1/tasks/status',
      {
        schema: {
          tags,
          summary: "The tenant's queue: counts by status and agent, oldest pending age, leases",
          operationId: 'getQueueStatus',
          response: { 200: queueStatusSchema, ...authErrors },
        },
      },
      async (req) => tasks.status(principalOf(req).tenantId, viewerOf(req)),
    );

    app.get(
      '/v1/tasks/callback-secret',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'The secret that signs this tenant’s callbacks (Agentry-Signature)',
          operationId: 'getCallbackSecret',
          response: { 200: z.object({ secret: z.string() }), ...authErrors },
        },
      },
      async (req) => ({ secret: await callbackSecrets.get(principalOf(req).tenantId) }),
    );

    app.post(
      '/v1/tasks/callback-secret/rotate',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Replace the callback signing secret',
          operationId: 'rotateCallbackSecret',
          response: { 200: z.object({ secret: z.string() }), ...authErrors },
        },
      },
      async (req) => ({ secret: await callbackSecrets.rotate(principalOf(req).tenantId, actorOf(req)) }),
    );

    app.get(
      '/v1/tasks/:id',
      {
        schema: {
          tags,
          summary: 'Get a task',
          params: idParams,
          response: { 200: taskSchema, ...authErrors },
        },
      },
      async (req) => tasks.get(principalOf(req).tenantId, req.params.id, viewerOf(req)),
    );

    app.get(
      '/v1/tasks/:id/callbacks',
      {
        schema: {
          tags,
          summary: "A task's callback deliveries: url, attempts, last status, delivered or given up",
          params: idParams,
          response: { 200: z.object({ data: z.array(callbackDeliverySchema) }), ...authErrors },
        },
      },
      async (req) => ({
        data: await tasks.callbacks(principalOf(req).tenantId, req.params.id, viewerOf(req)),
      }),
    );

    app.post(
      '/v1/tasks/:id/cancel',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Cancel a pending or running task',
          params: idParams,
          response: { 200: taskSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => tasks.cancel(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req)),
    );

    app.post(
      '/v1/tasks/:id/retry',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Run a failed or cancelled task again (attempts reset)',
          params: idParams,
          response: { 200: taskSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => tasks.retry(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req)),
    );

    app.post(
      '/v1/tasks/:id/callback',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'An external worker reports the outcome of a task it took',
          operationId: 'reportTask',
          params: idParams,
          body: reportBody,
          response: { 200: taskSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => tasks.report(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.get(
      '/v1/tasks/:id/events',
      {
        schema: {
          tags,
          summary: 'Server-Sent Events of a task, replayed from the log; resumable with Last-Event-ID',
          operationId: 'streamTaskEvents',
          params: idParams,
          querystring: z.object({ last_event_id: z.string().max(20).optional() }).strict(),
          produces: ['text/event-stream'],
          response: { 200: eventStream("The task's events"), ...authErrors },
        },
      },
      async (req, reply) => {
        // Checks the task is the tenant's, and not of another user's private agent, before any byte
        // is streamed (404 otherwise).
        await tasks.get(principalOf(req).tenantId, req.params.id, viewerOf(req));
        const sse = openSse(req, reply);
        try {
          for await (const e of tasks.follow(req.params.id, {
            afterSeq: lastEventId(req),
            signal: sse.signal,
          }))
            await sse.send(eventFrame(e));
        } catch (err) {
          req.log.warn({ err }, 'task event stream ended with an error');
        } finally {
          sse.close();
        }
      },
    );
  };
