import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { callerOf } from '../routes/chat.ts';
import { agentFor } from './default-agent.ts';
import { familyErrors } from './error-shape.ts';
import { completedText } from './run-answers.ts';

/**
 * Zahara's gateway and runtime contract (reference: zahara-runtime.md). `POST /execute` with
 * `X-API-Key` (or a bearer key) and `X-Request-Id` runs `{task, parameters}` on the tenant's default
 * agent, or on the agent named by `parameters.agent`; `POST /run` is the runtime side of the same
 * call, so a Zahara gateway (or an Agentry `env: remote` agent) can use Agentry as a runtime. The
 * task is the agent's message, the parameters its context. Errors are Zahara's
 * `{error, request_id, duration_ms, service}`; the request id is echoed.
 */
const body = z
  .object({
    task: z.string().min(1).max(200_000),
    parameters: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const answer = z.object({
  output: z.string(),
  request_id: z.string(),
  duration_ms: z.number(),
  service: z.string(),
  run_id: z.string(),
  session_id: z.string(),
});

const zaharaError = z.object({
  error: z.string(),
  request_id: z.string(),
  duration_ms: z.number(),
  service: z.string(),
});

const service = 'agentry';
const contextKey = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const zaharaRoutes =
  ({ runtime, agents, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    familyErrors(fastify, (e, reply) => ({
      error: e.error.message,
      request_id: e.request_id,
      duration_ms: Math.round(reply.elapsedTime),
      service,
    }));

    const execute = async (req: FastifyRequest, reply: FastifyReply, input: z.infer<typeof body>) => {
      const { agent: named, ...rest } = input.parameters;
      const agent = await agentFor(agents, req, named, config.compat.default_agent);
      // Parameters become the prompt's context; keys that cannot be template names are listed as one.
      const context: Record<string, unknown> = {};
      const other: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(rest)) (contextKey.test(k) ? context : other)[k] = v;
      if (Object.keys(other).length > 0) context.parameters = other;
      const handle = await runtime.run(callerOf(req), agent.id, {
        message: input.task,
        context,
        stream: false,
        multitask: 'reject',
        on_disconnect: 'continue',
      });
      const output = completedText(handle, await handle.result(), 'conflict');
      return {
        output,
        request_id: req.id,
        duration_ms: Math.round(reply.elapsedTime),
        service,
        run_id: handle.runId,
        session_id: handle.sessionId,
      };
    };

    const schema = (summary: string) => ({
      tags: ['compat: zahara'],
      summary,
      body,
      response: { 200: answer, 400: zaharaError, 401: zaharaError, 404: zaharaError, 502: zaharaError },
    });
    app.post(
      '/execute',
      {
        config: { auth: 'write' },
        schema: schema('Zahara gateway: run a task on the default (or named) agent'),
      },
      async (req, reply) => execute(req, reply, req.body),
    );
    app.post(
      '/run',
      { config: { auth: 'write' }, schema: schema('Zahara runtime: run a task (Agentry as a runtime)') },
      async (req, reply) => execute(req, reply, req.body),
    );
  };
