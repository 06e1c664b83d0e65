import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { Deadline } from '../../resilience/deadline.ts';
import type { Instance, InstanceType } from '../../runtime/pool/pool-instances.ts';
import { callerOf, principalOf, viewerOf } from '../caller.ts';
import { authErrors, errorResponse } from '../routes/common.ts';
import { replyWithRun } from '../run-reply.ts';
import type { Services } from '../services.ts';
import { agentFor } from './default-agent.ts';
import { isaAnswer, isaResult } from './run-answers.ts';

/**
 * isA's pool manager (reference: isa-agent-creation.md, "Pool Manager"; the body fields are its SDK
 * client's): acquire an instance, run queries on it (one JSON answer, or a stream), release it.
 * `agent` instances hold a sandbox of the tools' warm pool, `custom_agent` ones a sandbox of the
 * local-dev agents' pool; either is held for its caller until released or idle for
 * `compat.isa_pool_idle_ms`. An instance serves one agent (the config's id or name, else the default
 * agent) and keeps one conversation: the caller's `session_id`, or the one its first query starts.
 * Queries run as the agent's runs always do (its loop, or its deployed bundle), through the runtime.
 */
const tags = ['compat: isa'];
const poolType = z.enum(['agent', 'custom_agent']);
const typeParams = z.object({ type: poolType }).strict();
const instanceParams = z.object({ type: poolType, instance_id: z.uuid() }).strict();
const text = z.string().min(1).max(200_000);
const context = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.unknown());

const acquireBody = z
  .object({
    pool_type: poolType,
    /** The agent config: its `agent_config_id`, `id` or `name` picks the agent; other fields are the stored agent's. */
    config: z.looseObject({
      agent_config_id: z.string().min(1).max(200).optional(),
      id: z.string().min(1).max(200).optional(),
      name: z.string().min(1).max(200).optional(),
    }),
    session_id: z.string().min(1).max(200).nullable(),
    /** isA's billing hint; the instance belongs to the credential's user whatever it says. */
    user_id: z.string().max(200).nullable(),
    /** Seconds to wait for a free sandbox. */
    timeout: z.number().min(0).max(600),
  })
  .partial()
  .strict();

const queryParams = z.object({ prompt: text, query: text, message: text, context }).partial().strict();
const executeBody = z
  .object({
    action: z.enum(['query', 'reset', 'get_state']).default('query'),
    params: queryParams.default({}),
  })
  .strict()
  .refine((b) => b.action !== 'query' || promptOf(b.params) !== undefined, {
    message: 'a query needs params.prompt (or params.query)',
    path: ['params', 'prompt'],
  });
const streamBody = queryParams.refine((b) => promptOf(b) !== undefined, {
  message: 'send prompt (or query)',
  path: ['prompt'],
});

function promptOf(p: z.infer<typeof queryParams>): string | undefined {
  return p.prompt ?? p.query ?? p.message;
}

const instanceView = z.object({
  instance_id: z.string(),
  pool_type: z.string(),
  status: z.string(),
  agent_config_id: z.string(),
  agent_name: z.string(),
  session_id: z.string().nullable(),
  acquired_at: z.string(),
  last_used_at: z.string(),
  idle_timeout_seconds: z.number(),
});

export const isaPoolRoutes =
  ({
    agents,
    sessions,
    runtime,
    sandboxes,
    agentSandboxes,
    deployments,
    poolInstances,
    config,
  }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const idleSeconds = config.compat.isa_pool_idle_ms / 1000;
    const show = (i: Instance, status: string) => ({
      instance_id: i.id,
      pool_type: i.type,
      status,
      agent_config_id: i.agentId,
      agent_name: i.agentName,
      session_id: i.sessionKey ?? i.sessionId ?? null,
      acquired_at: i.acquiredAt.toISOString(),
      last_used_at: i.lastUsedAt.toISOString(),
      idle_timeout_seconds: idleSeconds,
    });
    const who = (req: FastifyRequest) => {
      const p = principalOf(req);
      return { tenantId: p.tenantId, holder: p.userId ?? p.subject };
    };
    const use = <T>(
      req: FastifyRequest,
      type: InstanceType,
      id: string,
      call: (i: Instance) => Promise<T>,
    ) => {
      const { tenantId, holder } = who(req);
      return poolInstances.use(type, id, tenantId, holder, call);
    };
    /** Starts a query on the instance's agent and conversation; the first one fixes the conversation. */
    const start = async (
      req: FastifyRequest,
      i: Instance,
      p: z.infer<typeof queryParams>,
      stream: boolean,
    ) => {
      const handle = await runtime.run(callerOf(req), i.agentId, {
        message: promptOf(p)!,
        session_id: i.sessionId,
        ...(p.context && { context: p.context }),
        // The instance is the warm sandbox a cloud_pool agent's run would take.
        heldSandbox: true,
        stream,
        multitask: 'enqueue',
        on_disconnect: 'continue',
      });
      poolInstances.setSession(i.id, handle.sessionId);
      return handle;
    };

    // Public, as isA's pool manager has it (its E2E script asks without credentials): four counts of
    // the server's own sandboxes, no tenant's data. Agentry's /v1/pools/:type/stats, with more
    // detail, stays admin only.
    app.get(
      '/api/v1/pools/:type/stats',
      {
        config: { auth: 'public' },
        schema: {
          tags,
          security: [],
          summary: 'isA pool manager: warm pool statistics (agent, custom_agent); held instances count busy',
          params: typeParams,
          response: {
            200: z.object({
              type: z.string(),
              warm_instances: z.number(),
              busy_instances: z.number(),
              total_created: z.number(),
            }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const agent = req.params.type === 'agent';
        const s = await (agent ? sandboxes.stats(sandboxes.holdType()) : agentSandboxes.stats());
        return {
          type: req.params.type,
          warm_instances: s.ready,
          busy_instances: s.busy,
          total_created: s.created,
        };
      },
    );

    app.post(
      '/api/v1/pools/:type/acquire',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'isA pool manager: take an instance from the warm pool, held for the caller until release or idle',
          params: typeParams,
          body: acquireBody,
          response: {
            200: instanceView,
            ...authErrors,
            422: errorResponse,
            429: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (req) => {
        const type = req.params.type;
        const b = req.body;
        if (b.pool_type !== undefined && b.pool_type !== type)
          throw new AppError(
            'validation_error',
            `pool_type ${b.pool_type} does not match the path's ${type}`,
          );
        const ref = b.config?.agent_config_id ?? b.config?.id ?? b.config?.name;
        const { tenantId, holder } = who(req);
        poolInstances.assertRoom(tenantId, holder);
        const seconds = b.timeout ?? 30;
        const wait = new Deadline(Math.round(seconds * 1000));
        // The sandbox first: a refusal for want of one has written nothing.
        const held = await (type === 'agent' ? sandboxes.hold(wait.signal) : agentSandboxes.hold(wait.signal))
          .catch((err) => {
            if (!wait.passed) throw err;
            throw new AppError('unavailable', `no ${type} instance became free within ${seconds} s`, {
              retryAfter: 1,
            });
          })
          .finally(() => wait.clear());
        try {
          const agent = ref
            ? await agents.resolve(tenantId, ref, viewerOf(req))
            : await agentFor(agents, req, undefined, config.compat.default_agent);
          if (type === 'custom_agent') {
            if (agent.env !== 'pool')
              throw new AppError(
                'unprocessable',
                `agent ${agent.name} is not a local-dev agent (env pool): the custom_agent pool serves those`,
              );
            if ((await deployments.currentVersion(tenantId, agent.id)) === undefined)
              throw new AppError('unprocessable', `agent ${agent.name} has no deployment yet`);
          }
          const sessionId = b.session_id
            ? await sessions.forClientKey(tenantId, agent.id, b.session_id, principalOf(req).userId)
            : undefined;
          const instance = poolInstances.add({
            type,
            tenantId,
            holder,
            agentId: agent.id,
            agentName: agent.name,
            sessionId,
            ...(b.session_id && { sessionKey: b.session_id }),
            release: held.release,
          });
          return show(instance, 'acquired');
        } catch (err) {
          held.release();
          throw err;
        }
      },
    );

    app.post(
      '/api/v1/pools/:type/:instance_id/execute',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'isA pool manager: run an action on a held instance (query, reset its conversation, get_state)',
          params: instanceParams,
          body: executeBody,
          response: {
            200: z.union([
              isaAnswer.extend({ success: z.boolean(), instance_id: z.string(), action: z.string() }),
              z.object({
                success: z.boolean(),
                instance_id: z.string(),
                action: z.string(),
                state: instanceView,
              }),
            ]),
            ...authErrors,
          },
        },
      },
      async (req, reply) => {
        const { action, params } = req.body;
        return use(req, req.params.type, req.params.instance_id, async (i) => {
          if (action === 'reset') poolInstances.setSession(i.id, undefined);
          if (action !== 'query')
            return {
              success: true,
              instance_id: i.id,
              action,
              state: show(poolInstances.get(i.type, i.id, i.tenantId, i.holder), 'held'),
            };
          const answer = await isaResult(await start(req, i, params, false), reply);
          const key = poolInstances.get(i.type, i.id, i.tenantId, i.holder).sessionKey;
          return {
            success: answer.response.success,
            instance_id: i.id,
            action,
            ...answer,
            session_id: key ?? answer.session_id,
          };
        });
      },
    );

    app.post(
      '/api/v1/pools/:type/:instance_id/stream',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "isA pool manager: a query on a held instance, streamed as isA's chat streams ([DONE] last)",
          params: instanceParams,
          body: streamBody,
          produces: ['text/event-stream'],
          response: { 200: z.any().describe('text/event-stream'), ...authErrors },
        },
      },
      async (req, reply) =>
        use(req, req.params.type, req.params.instance_id, async (i) =>
          replyWithRun(runtime, req, reply, await start(req, i, req.body, true), {
            stream: true,
            on_disconnect: 'continue',
          }),
        ),
    );

    app.post(
      '/api/v1/pools/:type/:instance_id/release',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA pool manager: give a held instance back to its pool',
          params: instanceParams,
          response: {
            200: z.object({ success: z.boolean(), instance_id: z.string(), status: z.string() }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const { tenantId, holder } = who(req);
        poolInstances.release(req.params.type, req.params.instance_id, tenantId, holder);
        return { success: true, instance_id: req.params.instance_id, status: 'released' };
      },
    );
  };
