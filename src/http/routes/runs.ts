import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { toRun, toStep } from '../../runtime/rows.ts';
import { cancelBody, denyBody, runSchema, runWithSteps } from '../../runtime/schema.ts';
import { listRunsQuery, runList, runTrace } from '../../runtime/trace-schema.ts';
import { principalOf, viewerOf } from '../plugins/auth.ts';
import { eventFrame, lastEventId, openSse } from '../sse.ts';
import { callerOf } from './chat.ts';
import { agentIdOf, authErrors, errorResponse, idParams } from './common.ts';

const tags = ['runs'];
const conflict = { 409: errorResponse };

export const runRoutes =
  ({ runtime, agents, sessions }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // A run of another user's private session is not found, on every /v1/runs/:id route.
    app.addHook('preHandler', async (req) => {
      const id = (req.params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && req.principal)
        await sessions.assertRunVisible(req.principal.tenantId, id, viewerOf(req));
    });

    app.get(
      '/v1/runs',
      {
        schema: {
          tags,
          summary:
            "The tenant's runs, newest first: by agent, status, time, error, task, session or team; cursor pages",
          querystring: listRunsQuery,
          response: { 200: runList, ...authErrors },
        },
      },
      async (req) => {
        const { agent_id: ref, ...q } = req.query;
        const agent_id = ref === undefined ? undefined : await agentIdOf(agents, req, ref);
        return runtime.store.list(principalOf(req).tenantId, { ...q, agent_id }, viewerOf(req));
      },
    );

    app.get(
      '/v1/runs/:id/trace',
      {
        schema: {
          tags,
          summary:
            "A run's step tree (model calls, tool calls with arguments and results, timings, tokens, cost) and its OpenTelemetry trace id",
          params: idParams,
          response: { 200: runTrace, ...authErrors },
        },
      },
      async (req) => runtime.store.trace(principalOf(req).tenantId, req.params.id),
    );

    app.get(
      '/v1/runs/:id',
      {
        schema: {
          tags,
          summary: 'A run with its steps (model calls and tool calls: inputs, outputs, timings, usage)',
          params: idParams,
          response: { 200: runWithSteps, ...authErrors },
        },
      },
      async (req) => {
        const row = await runtime.store.get(principalOf(req).tenantId, req.params.id);
        const steps = await runtime.store.steps(row.id);
        return { ...toRun(row), steps: steps.map(toStep) };
      },
    );

    app.get(
      '/v1/runs/:id/stream',
      {
        schema: {
          tags,
          summary:
            'Server-Sent Events of a run, replayed from the log and followed live; resumable with Last-Event-ID',
          params: idParams,
          querystring: z.object({ last_event_id: z.string().max(20).optional() }).strict(),
          produces: ['text/event-stream'],
          response: authErrors,
        },
      },
      async (req, reply) => {
        // The run must be the tenant's before any byte is streamed (404 otherwise).
        await runtime.store.get(principalOf(req).tenantId, req.params.id);
        const sse = openSse(req, reply);
        try {
          for await (const e of runtime.follow(req.params.id, lastEventId(req), sse.signal)) {
            await sse.send(eventFrame(e));
            if (e.type === 'session_end') await sse.send({ data: '[DONE]' });
          }
        } catch (err) {
          req.log.warn({ err }, 'run stream ended with an error');
        } finally {
          sse.close();
        }
      },
    );

    app.post(
      '/v1/runs/:id/approve',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Approve the tool calls a run waits on (input_required); the run resumes',
          params: idParams,
          response: { 200: runSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => runtime.decide(callerOf(req), req.params.id, true),
    );

    app.post(
      '/v1/runs/:id/deny',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Deny the tool calls a run waits on; the model sees the reason and the run resumes',
          params: idParams,
          body: denyBody.nullish(),
          response: { 200: runSchema, ...authErrors, ...conflict },
        },
      },
      async (req) =>
        runtime.decide(
          callerOf(req),
          req.params.id,
          false,
          req.body?.reason ?? 'the user denied this tool call',
        ),
    );

    app.post(
      '/v1/runs/:id/resume',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Resume an interrupted run (a tool call that is not idempotent was in flight when its process died): ' +
            'the calls in pending_tool_calls run again and the run carries on. Cancel it instead to stop it',
          params: idParams,
          response: { 200: runSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => runtime.resumeInterrupted(callerOf(req), req.params.id),
    );

    app.post(
      '/v1/runs/:id/cancel',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Cancel a queued, running, waiting or interrupted run',
          params: idParams,
          body: cancelBody.nullish(),
          response: { 200: runSchema, ...authErrors, ...conflict },
        },
      },
      async (req) => {
        const tenantId = principalOf(req).tenantId;
        await runtime.cancel(tenantId, req.params.id, req.body?.reason);
        return toRun(await runtime.store.get(tenantId, req.params.id));
      },
    );
  };
