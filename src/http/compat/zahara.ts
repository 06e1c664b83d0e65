import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { runOwner } from '../../config/compat-config.ts';
import { callerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentFor } from './default-agent.ts';
import { familyErrors } from './error-shape.ts';
import { completedText, resultWithin } from './run-answers.ts';
import { otherFamilyRun, zaharaTaskBody } from './run-bodies.ts';

/**
 * Zahara's gateway and runtime contract (reference: zahara-runtime.md). `POST /execute` with
 * `X-API-Key` (or a bearer key) and `X-Request-Id` runs `{task, parameters}` on the tenant's default
 * agent, or on the agent named by `parameters.agent`; `POST /run` is the runtime side of the same
 * call, so a Zahara gateway (or an Agentry `env: remote` agent) can use Agentry as a runtime. The
 * task is the agent's message, the parameters its context. Errors are Zahara's
 * `{error, request_id, duration_ms, service}`; the request id is echoed.
 */
const body = zaharaTaskBody;

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
const credentialHint = 'X-API-Key: <API key> (or Authorization: Bearer <API key>)';
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
      const result = await resultWithin(runtime, callerOf(req).tenantId, handle, input.timeout);
      const output = completedText(handle, result, 'conflict');
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
      response: {
        200: answer,
        400: zaharaError,
        401: zaharaError,
        404: zaharaError,
        429: zaharaError,
        502: zaharaError,
        503: zaharaError,
        504: zaharaError,
      },
    });
    app.post(
      '/execute',
      {
        config: { auth: 'write', credentialHint },
        schema: schema('Zahara gateway: run a task on the default (or named) agent'),
      },
      async (req, reply) => execute(req, reply, req.body),
    );
    // `/run` is also PAGI's alias of `/plan`: one family serves it per deployment (compat.run_owner).
    if (runOwner(config) !== 'zahara') return;
    app.post(
      '/run',
      {
        // Zahara's runtimes took X-Request-Id alone: so does this one in dev auth mode on loopback.
        config: { auth: 'write', devWithoutCredentials: true, credentialHint },
        schema: schema('Zahara runtime: run a task (Agentry as a runtime)'),
        // PAGI's /run body, sent here, is told where it goes and which setting decides.
        preValidation: otherFamilyRun('zahara', config),
      },
      async (req, reply) => execute(req, reply, req.body),
    );
  };
