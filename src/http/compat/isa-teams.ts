import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { multiAgentSchema, updateMultiAgentBody } from '../../agents/schema.ts';
import { pageQuery } from '../../db/page.ts';
import { AppError } from '../../errors.ts';
import { actorOf, callerOf, principalOf, viewerOf } from '../caller.ts';
import { authErrors } from '../routes/common.ts';
import { replyWithRun } from '../run-reply.ts';
import type { Services } from '../services.ts';
import { viewConfig } from './isa-configs.ts';
import { isaAnswer, isaResult } from './run-answers.ts';

/**
 * isA's agent service contract, second part: multi-agent specs (`/api/v1/agents/multi-specs`), the
 * swarm and DAG runs, and generation from a requirement (isA's "Vibe" path, here Agentry's own
 * generator). A spec is an Agentry multi-agent spec and a run is an Agentry run; a swarm or DAG is
 * named by `spec_id`, may start at `entry_agent_override` (a member, by id or name), and answers as
 * isA's chat does. `/swarm/dag` refuses a spec that is not a DAG.
 */
const runBody = z
  .object({
    spec_id: z.uuid(),
    message: z.string().min(1).max(200_000),
    entry_agent_override: z.string().min(1).max(200).optional(),
    session_id: z.uuid().optional(),
    /** Server-Sent Events instead of one JSON answer (`/swarm/stream` always streams). */
    stream: z.boolean().optional(),
  })
  .strict();

const generateBody = z
  .object({
    requirement: z.string().trim().min(3).max(10_000).optional(),
    prompt: z.string().trim().min(3).max(10_000).optional(),
    model_id: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => (b.requirement ?? b.prompt) !== undefined, {
    message: 'send requirement (or prompt)',
    path: ['requirement'],
  });

const tags = ['compat: isa'];
const specParams = z.object({ spec_id: z.uuid() }).strict();

export const isaTeamRoutes =
  ({ agents, multiAgents, runtime, generator }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/api/v1/agents/multi-specs',
      {
        schema: {
          tags,
          summary: 'isA: list multi-agent specs',
          querystring: pageQuery,
          response: { 200: z.array(multiAgentSchema), ...authErrors },
        },
      },
      async (req) => (await multiAgents.list(principalOf(req).tenantId, req.query)).data,
    );
    app.get(
      '/api/v1/agents/multi-specs/:spec_id',
      {
        schema: {
          tags,
          summary: 'isA: one multi-agent spec',
          params: specParams,
          response: { 200: multiAgentSchema, ...authErrors },
        },
      },
      async (req) => multiAgents.get(principalOf(req).tenantId, req.params.spec_id),
    );
    app.patch(
      '/api/v1/agents/multi-specs/:spec_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: change a multi-agent spec',
          params: specParams,
          body: updateMultiAgentBody,
          response: { 200: multiAgentSchema, ...authErrors },
        },
      },
      async (req) =>
        multiAgents.update(principalOf(req).tenantId, req.params.spec_id, req.body, actorOf(req)),
    );
    app.delete(
      '/api/v1/agents/multi-specs/:spec_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: delete a multi-agent spec',
          params: specParams,
          response: { 200: z.object({ success: z.boolean(), id: z.string() }), ...authErrors },
        },
      },
      async (req) => {
        await multiAgents.delete(principalOf(req).tenantId, req.params.spec_id, actorOf(req));
        return { success: true, id: req.params.spec_id };
      },
    );

    const team = (path: string, summary: string, streamByDefault: boolean, kind?: 'dag') =>
      app.post(
        path,
        {
          config: { auth: 'write' },
          schema: {
            tags,
            summary,
            body: runBody,
            produces: streamByDefault ? ['text/event-stream'] : ['application/json', 'text/event-stream'],
            response: { 200: isaAnswer, ...authErrors },
          },
        },
        async (req, reply) => {
          const { tenantId } = principalOf(req);
          const stream = streamByDefault || req.body.stream === true;
          const spec = await multiAgents.get(tenantId, req.body.spec_id);
          if (kind && spec.kind !== kind)
            throw new AppError('unprocessable', `spec ${spec.name} is a ${spec.kind}, not a ${kind}`);
          let entry = spec.entry_agent_id;
          if (req.body.entry_agent_override) {
            entry = (await agents.resolve(tenantId, req.body.entry_agent_override, viewerOf(req))).id;
            if (!spec.members.includes(entry)) {
              throw new AppError(
                'unprocessable',
                `${req.body.entry_agent_override} is not a member of ${spec.name}`,
              );
            }
          }
          const handle = await runtime.run(callerOf(req), entry, {
            message: req.body.message,
            session_id: req.body.session_id,
            stream,
            multitask: 'reject',
            on_disconnect: 'continue',
            multiAgent: { id: spec.id, ...(entry !== spec.entry_agent_id && { entry_agent_id: entry }) },
          });
          if (stream)
            return replyWithRun(runtime, req, reply, handle, { stream: true, on_disconnect: 'continue' });
          return isaResult(handle, reply);
        },
      );
    team(
      '/api/v1/agents/swarm',
      'isA: run a swarm (or any multi-agent spec): JSON, or Server-Sent Events with stream true',
      false,
    );
    team('/api/v1/agents/swarm/stream', 'isA: run a swarm, streamed as Server-Sent Events', true);
    team(
      '/api/v1/agents/swarm/dag',
      'isA: run a DAG spec: JSON, or its node events as Server-Sent Events with stream true',
      false,
      'dag',
    );

    app.post(
      '/api/v1/agents/generate',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: generate an agent (or a team) from a requirement',
          body: generateBody,
          response: { 200: z.record(z.string(), z.unknown()), ...authErrors },
        },
      },
      async (req) => {
        const { tenantId, tenantName, keyId, requestId, traceId } = callerOf(req);
        const out = await generator.generate(
          { tenantId, tenantName, keyId, requestId, traceId },
          { requirement: (req.body.requirement ?? req.body.prompt)!, model: req.body.model_id },
          actorOf(req),
          { owner: principalOf(req).userId },
        );
        // isA's config shape (`model_id`, `env` as isA names it), as its other routes answer.
        const configs = out.agents.map(viewConfig);
        return { ...out, agents: configs, agent: configs[0] ?? null, multi_spec: out.multi_agent };
      },
    );
  };
