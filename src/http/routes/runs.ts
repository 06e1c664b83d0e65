import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toRun, toStep } from '../../runtime/runs/rows.ts';
import { cancelBody, denyBody, forkBody, runSchema, runWithSteps } from '../../runtime/schema.ts';
import { compareQuery, compareRuns, runComparison } from '../../runtime/trace/compare.ts';
import {
  type ListRunsQuery,
  listRunsParams,
  listRunsQuery,
  runList,
  runTrace,
} from '../../runtime/trace/schema.ts';
import { callerOf, principalOf, viewerOf } from '../caller.ts';
import { runVisibility } from '../run-visibility.ts';
import type { Services } from '../services.ts';
import { eventFrame, lastEventId, openSse } from '../sse.ts';
import { agentIdOf, authErrors, errorResponse, eventStream, idParams } from './common.ts';

const tags = ['runs'];
const conflict = { 409: errorResponse };
/** How often a tail looks for new runs, and how many it sends at a time. */
const TAIL_POLL_MS = 1000;
const TAIL_BATCH = 50;
/** Before every UUIDv7: a tail of a tenant without runs starts here. */
const NO_RUN = '00000000-0000-0000-0000-000000000000';
const tailRunsQuery = listRunsQuery
  .omit({ cursor: true, limit: true })
  .extend({ last_event_id: z.string().max(20).optional() });

export const runRoutes =
  ({ runtime, agents, sessions, models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.addHook('preHandler', runVisibility(sessions));

    app.get(
      '/v1/runs',
      {
        schema: {
          tags,
          summary:
            "The tenant's runs, newest first: by agent, status, time, error, cost, text, score, task, session or team; cursor pages",
          querystring: listRunsParams,
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
      '/v1/runs/compare',
      {
        schema: {
          tags,
          summary: 'Two runs side by side: steps, outputs, tokens, cost and latency, and b minus a',
          querystring: compareQuery,
          response: { 200: runComparison, ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const side = async (id: string) => {
          await sessions.assertRunVisible(tenantId, id, viewerOf(req));
          const row = await runtime.store.get(tenantId, id);
          return [row, await runtime.store.steps(id)] as const;
        };
        const [a, b] = await Promise.all([side(req.query.a), side(req.query.b)]);
        return compareRuns([a[0], [...a[1]]], [b[0], [...b[1]]]);
      },
    );

    app.post(
      '/v1/runs/:id/fork',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Fork a run from a recorded step (0: replay) with the conversation before it, optionally a changed message, ' +
            'agent version, model or tool results: a new run in a new session, linked by parent_run_id (201; follow its stream)',
          params: idParams,
          body: forkBody,
          response: { 201: runSchema, ...authErrors, 422: errorResponse },
        },
      },
      async (req, reply) => {
        // An unknown model is refused now, not as the new run's failure.
        if (req.body.model) models.catalog.resolve(req.body.model);
        const row = await runtime.fork(callerOf(req), req.params.id, req.body);
        return reply.code(201).send(toRun(row));
      },
    );

    app.get(
      '/v1/runs/tail',
      {
        schema: {
          tags,
          summary:
            "Server-Sent Events of the runs created from now on under the filters of GET /v1/runs: a `run` event with each one's summary, oldest first; resumable with `after` (the last run seen) and Last-Event-ID",
          operationId: 'tailRuns',
          querystring: tailRunsQuery,
          produces: ['text/event-stream'],
          response: { 200: eventStream('`run` events, one per new run'), ...authErrors },
        },
      },
      async (req, reply) => {
        // A HEAD asks whether the tail is there, not to follow it: answered without opening a stream.
        if (req.method === 'HEAD') return reply.type('text/event-stream').send('' as never);
        const { agent_id: ref, after, last_event_id: _resumed, ...filters } = req.query;
        const agent_id = ref === undefined ? undefined : await agentIdOf(agents, req, ref);
        const tenantId = principalOf(req).tenantId;
        const viewer = viewerOf(req);
        const list = (q: Partial<ListRunsQuery>) =>
          runtime.store.list(tenantId, { ...filters, agent_id, limit: TAIL_BATCH, ...q }, viewer);
        // From the newest run now, unless the client says which it saw last; the ids count on from
        // the Last-Event-ID a resuming client sends.
        let last = after ?? (await list({ limit: 1 })).data[0]?.id ?? NO_RUN;
        let seq = lastEventId(req);
        const sse = openSse(req, reply);
        try {
          // Runs are polled rather than announced: a run is created on many paths (chat, tasks,
          // teams, A2A), and a console's tail can wait a second.
          while (!sse.signal.aborted) {
            const page = await list({ after: last });
            for (const run of page.data) await sse.send({ id: ++seq, event: 'run', data: run });
            last = page.data.at(-1)?.id ?? last;
            if (!page.next_cursor) {
              await sleep(TAIL_POLL_MS, undefined, { signal: sse.signal.toAbortSignal() }).catch(() => {
                // Rejects only when the client has left (its signal): nothing is lost, the loop's
                // condition ends the tail.
              });
            }
          }
        } catch (err) {
          req.log.warn({ err }, 'run tail ended with an error');
        } finally {
          sse.close();
        }
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
          operationId: 'streamRun',
          params: idParams,
          querystring: z.object({ last_event_id: z.string().max(20).optional() }).strict(),
          produces: ['text/event-stream'],
          response: { 200: eventStream("The run's events"), ...authErrors },
        },
      },
      async (req, reply) => {
        // The run must be the tenant's before any byte is streamed (404 otherwise).
        await runtime.store.get(principalOf(req).tenantId, req.params.id);
        const sse = openSse(req, reply);
        try {
          let done = false;
          for await (const e of runtime.follow(req.params.id, lastEventId(req), sse.signal)) {
            await sse.send(eventFrame(e));
            done = e.type === 'session_end';
            if (done) await sse.send({ data: '[DONE]' });
          }
          // Following ends only at the run's end: a client that resumed after it hears so too.
          if (!done && !sse.signal.aborted) await sse.send({ data: '[DONE]' });
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
