import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentRef } from '../../agents/schema.ts';
import { AppError } from '../../errors.ts';
import { chatFields, chatResponse } from '../../runtime/schema.ts';
import { callerOf, principalOf } from '../caller.ts';
import { replyWithRun } from '../run-reply.ts';
import type { Services } from '../services.ts';
import { agentIdOf, authErrors, errorResponse, idParams } from './common.ts';

const runBody = z
  .object({
    ...chatFields,
    /** Start at this member instead of the spec's entry agent. */
    entry_agent_override: agentRef.optional(),
  })
  .strict();

/**
 * Runs a multi-agent spec on a message: a swarm's conversation or a DAG's graph, as one run with the
 * same answers as chat (SSE by default, JSON with `stream: false`). The run belongs to the entry agent.
 */
export const multiAgentRunRoutes =
  ({ runtime, multiAgents, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/multi-agents/:id/run',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['multi-agents'],
          summary:
            'Run a multi-agent spec (swarm or DAG): SSE with handoff / node events, every loop event naming its agent, or JSON',
          params: idParams,
          body: runBody,
          produces: ['text/event-stream', 'application/json'],
          response: { 200: chatResponse, ...authErrors, 409: errorResponse, 422: errorResponse },
        },
      },
      async (req, reply) => {
        const { entry_agent_override: ref, ...body } = req.body;
        const entry_agent_override = ref === undefined ? undefined : await agentIdOf(agents, req, ref);
        const spec = await multiAgents.get(principalOf(req).tenantId, req.params.id);
        if (entry_agent_override && !spec.members.includes(entry_agent_override)) {
          throw new AppError(
            'unprocessable',
            `entry_agent_override ${entry_agent_override} is not a member of ${spec.name}`,
          );
        }
        const entry = entry_agent_override ?? spec.entry_agent_id;
        const handle = await runtime.run(callerOf(req), entry, {
          ...body,
          // The run belongs to its entry agent, at the version the spec pins it to.
          agent_version: spec.member_versions[entry],
          multiAgent: { id: spec.id, ...(entry_agent_override && { entry_agent_id: entry_agent_override }) },
        });
        return replyWithRun(runtime, req, reply, handle, body);
      },
    );
  };
