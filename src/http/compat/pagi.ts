import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { runOwner } from '../../config/compat-config.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../../events/journal.ts';
import { newRedis } from '../../net/redis.ts';
import type { SandboxType } from '../../tools/sandbox/sandbox.ts';
import { SandboxRefusal } from '../../tools/sandbox/types.ts';
import { actorOf, callerOf, principalOf } from '../caller.ts';
import { authErrors, errorResponse } from '../routes/common.ts';
import type { Services } from '../services.ts';
import { agentFor } from './default-agent.ts';
import { completedText, resultWithin } from './run-answers.ts';
import { otherFamilyRun, pagiPlanBody } from './run-bodies.ts';

/**
 * PAGI's planner and sandbox contract (reference: pagi-chat-desktop.md). `POST /plan {prompt,
 * session_id, resources}` and `POST /api/v1/plan {prompt}` run the agent loop on the default agent
 * (or `agent`), with history kept per client-chosen `session_id` string; `POST /api/v1/execute_tool
 * {tool_name, code?}` runs code in the sandbox. `X-Trace-ID` is taken from the request or made, and
 * returned; each plan writes journal rows carrying it and publishes a notification with it on the
 * Redis channel `pagi_notifications` (when Redis is configured; the live bus otherwise). PAGI
 * defines no error body: errors keep Agentry's.
 */
const planBody = pagiPlanBody;

const toolBody = z
  .object({ tool_name: z.string().min(1).max(64), code: z.string().max(100_000).optional() })
  .strict();

/** PAGI's tool names, and Agentry's, onto a sandbox; `demo` is the reference's wiring check. */
const sandboxTools: Record<string, { type: SandboxType; code?: string }> = {
  demo: { type: 'bwrap', code: 'echo "demo tool executed in the sandbox"' },
  bash: { type: 'bwrap' },
  shell: { type: 'bwrap' },
  bash_execute: { type: 'bwrap' },
  javascript: { type: 'quickjs' },
  js: { type: 'quickjs' },
  run_javascript: { type: 'quickjs' },
};

export const PAGI_CHANNEL = 'pagi_notifications';
export const PAGI_CREDENTIAL = 'X-API-Key: <API key> (or Authorization: Bearer <API key>)';
const tags = ['compat: pagi'];
const errors = { ...authErrors, 409: errorResponse, 504: errorResponse };

export const pagiRoutes =
  ({ runtime, agents, sessions, sandboxes, bus, config, journal, log }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const redis = config.redis_url
      ? newRedis(config.redis_url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      : undefined;
    fastify.addHook('onClose', async () => {
      redis?.disconnect();
    });
    // The trace id PAGI clients read back; kept as the client sent it.
    fastify.addHook('onRequest', async (req, reply) => {
      const given = req.headers['x-trace-id'];
      const traceId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
      req.pagiTraceId = traceId;
      reply.header('x-trace-id', traceId);
    });
    // PAGI's planner took no credential unless PAGI_API_KEY was set: so in dev auth mode on loopback.
    // That key, imported with the `pagi` scope, opens PAGI's routes and no other (docs/compat.md).
    const planAccess = {
      auth: 'write' as const,
      orScope: 'pagi' as const,
      devWithoutCredentials: config.compat.pagi_api_key === undefined,
      credentialHint: PAGI_CREDENTIAL,
    };
    const actor = (req: FastifyRequest): Actor => ({ ...actorOf(req), traceId: req.pagiTraceId });

    const notify = async (message: Record<string, unknown>) => {
      const text = JSON.stringify(message);
      try {
        if (redis) await redis.publish(PAGI_CHANNEL, text);
        else await bus.publish(PAGI_CHANNEL, text);
      } catch (err) {
        // A notification is a side channel: the plan's answer does not wait on it or fail with it.
        log.warn({ err, trace_id: message.trace_id }, 'pagi notification not published');
      }
    };

    const plan = async (req: FastifyRequest, input: z.infer<typeof planBody>) => {
      const { tenantId, userId } = principalOf(req);
      const agent = await agentFor(agents, req, input.agent, config.compat.default_agent);
      const sessionId = input.session_id
        ? await sessions.forClientKey(tenantId, agent.id, input.session_id, userId)
        : undefined;
      await journal.write(actor(req), {
        action: 'pagi.plan',
        target: agent.id,
        data: { session_key: input.session_id ?? null, resources: input.resources.length },
      });
      const handle = await runtime.run(callerOf(req), agent.id, {
        message: input.prompt,
        session_id: sessionId,
        context: input.resources.length > 0 ? { resources: input.resources } : undefined,
        stream: false,
        multitask: 'enqueue',
        on_disconnect: 'continue',
      });
      const result = await resultWithin(
        runtime,
        tenantId,
        handle,
        config.compat.pagi_request_timeout_seconds,
      );
      const ok = result.status === 'completed';
      await journal.write(actor(req), {
        action: ok ? 'pagi.plan.completed' : 'pagi.plan.failed',
        target: handle.runId,
        data: { status: result.status },
      });
      void notify({
        trace_id: req.pagiTraceId,
        event: 'plan_completed',
        status: result.status,
        run_id: handle.runId,
        session_id: input.session_id ?? handle.sessionId,
      });
      return {
        text: completedText(handle, result, 'bad_gateway'),
        runId: handle.runId,
        sessionId: input.session_id ?? handle.sessionId,
      };
    };

    const planAnswer = z.object({
      result: z.string(),
      session_id: z.string(),
      run_id: z.string(),
      trace_id: z.string(),
    });
    const planner = (path: string, summary: string, operationId: string, owner?: 'pagi') =>
      app.post(
        path,
        {
          config: planAccess,
          schema: { tags, summary, operationId, body: planBody, response: { 200: planAnswer, ...errors } },
          // Zahara's /run body, sent to PAGI's /run, is told where it goes and which setting decides.
          ...(owner && { preValidation: otherFamilyRun(owner, config) }),
        },
        async (req) => {
          const r = await plan(req, req.body);
          return { result: r.text, session_id: r.sessionId, run_id: r.runId, trace_id: req.pagiTraceId };
        },
      );
    planner('/plan', 'PAGI planner: run the agent loop in a client-named session', 'pagiRunPlanner');
    // Zahara's runtime defines `/run` too: one family serves it per deployment (compat.run_owner).
    if (runOwner(config) === 'pagi')
      planner('/run', "PAGI planner: /plan's alias", 'pagiRunPlannerAlias', 'pagi');

    app.post(
      '/api/v1/plan',
      {
        config: planAccess,
        schema: {
          tags,
          summary: 'PAGI agent: generate a plan',
          operationId: 'pagiGeneratePlan',
          body: planBody,
          response: {
            200: z.object({
              service: z.string(),
              status: z.string(),
              plan: z.string(),
              llm_response: z.string(),
              bff_echo: z.null(),
              session_id: z.string(),
              run_id: z.string(),
              trace_id: z.string(),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const r = await plan(req, req.body);
        return {
          service: 'agentry',
          status: 'ok',
          plan: r.text,
          llm_response: r.text,
          bff_echo: null,
          session_id: r.sessionId,
          run_id: r.runId,
          trace_id: req.pagiTraceId,
        };
      },
    );

    app.post(
      '/api/v1/execute_tool',
      {
        config: { auth: 'write', orScope: 'pagi', credentialHint: PAGI_CREDENTIAL },
        schema: {
          tags,
          summary: 'PAGI sandbox: run a tool (bash or JavaScript code) in the sandbox',
          body: toolBody,
          response: {
            200: z.object({ tool_status: z.enum(['success', 'error']), result: z.unknown() }),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const tool = sandboxTools[req.body.tool_name];
        if (!tool) {
          throw new AppError(
            'not_found',
            `tool ${req.body.tool_name} not found; known: ${Object.keys(sandboxTools).join(', ')}`,
          );
        }
        const code = tool.code ?? req.body.code;
        if (!code) throw new AppError('validation_error', `tool ${req.body.tool_name} needs code`);
        const out = await sandboxes.run(`pagi:${req.body.tool_name}`, tool.type, { code }).catch((err) => {
          // No sandbox to run it (the pool is off, exhausted or its breaker open): try again later.
          if (err instanceof SandboxRefusal)
            throw new AppError('unavailable', err.message, { retryAfter: 1 });
          throw err;
        });
        await journal.write(actor(req), {
          action: 'pagi.execute_tool',
          target: req.body.tool_name,
          data: { exit_code: out.exit_code },
        });
        const ok = out.exit_code === 0 && !out.timed_out;
        return reply.send({
          tool_status: ok ? 'success' : 'error',
          result: {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
            value: out.value ?? null,
          },
        });
      },
    );
  };

declare module 'fastify' {
  interface FastifyRequest {
    /** PAGI's X-Trace-ID: the client's, or made for this request. */
    pagiTraceId: string;
  }
}
