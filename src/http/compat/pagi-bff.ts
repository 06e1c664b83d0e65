import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ComponentHealth } from '../../observability/health.ts';
import { principalOf, viewerOf } from '../caller.ts';
import { authErrors } from '../routes/common.ts';
import type { Services } from '../services.ts';
import { PAGI_CREDENTIAL } from './pagi.ts';

/**
 * PAGI's bare-metal demo stack (reference: pagi-chat-desktop.md, "Go BFF" and "Mock Memory"): the
 * BFF's wiring check `POST /api/v1/echo`, its aggregate `GET /api/v1/agi/dashboard-data`, and the
 * memory service's `GET /memory/latest`. Every service of that stack is this one server, so the
 * dashboard's parts are its own components' health and the caller's latest conversation; it runs no
 * model call (a page load must not spend a tenant's budget). As PAGI's planner, they take no
 * credential in dev auth mode on loopback unless PAGI_API_KEY is set.
 */
const tags = ['compat: pagi'];
const service = 'agentry';
const MESSAGES = 20;

const latestMemory = z.object({
  service: z.string(),
  status: z.string(),
  session_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  updated_at: z.string().nullable(),
  messages: z.array(z.object({ role: z.string(), content: z.string().nullable(), created_at: z.string() })),
});

export const pagiBffRoutes =
  ({ sessions, health, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const access = {
      auth: 'read' as const,
      orScope: 'pagi' as const,
      devWithoutCredentials: config.compat.pagi_api_key === undefined,
      credentialHint: PAGI_CREDENTIAL,
    };

    /** The caller's most recent conversation and its last messages: what PAGI's memory held last. */
    const latest = async (req: FastifyRequest): Promise<z.infer<typeof latestMemory>> => {
      const { tenantId } = principalOf(req);
      const page = await sessions.list(tenantId, { limit: 1, offset: 0 }, viewerOf(req));
      const session = page.data[0];
      if (!session)
        return { service, status: 'ok', session_id: null, agent_id: null, updated_at: null, messages: [] };
      // Sequence numbers start at 0: after -1 is the whole conversation.
      const all = await sessions.messages(tenantId, session.id, -1, 10_000, viewerOf(req));
      return {
        service,
        status: 'ok',
        session_id: session.id,
        agent_id: session.agent_id,
        updated_at: session.updated_at,
        messages: all
          .slice(-MESSAGES)
          .map((m) => ({ role: m.role, content: m.content, created_at: m.created_at })),
      };
    };

    app.get(
      '/memory/latest',
      {
        config: access,
        schema: {
          tags,
          summary: "PAGI memory: the caller's latest conversation and its last messages",
          response: { 200: latestMemory, ...authErrors },
        },
      },
      async (req) => latest(req),
    );

    app.post(
      '/api/v1/echo',
      {
        config: access,
        schema: {
          tags,
          summary: 'PAGI BFF: echo, a wiring check',
          body: z
            .object({ ping: z.unknown().optional(), request_id: z.string().max(200).optional() })
            .strict(),
          response: {
            200: z.object({ service: z.string(), received: z.unknown(), request_id: z.string() }),
            ...authErrors,
          },
        },
      },
      async (req) => ({ service, received: req.body, request_id: req.body.request_id ?? req.id }),
    );

    const part = (components: Record<string, ComponentHealth>, names: string[]) => {
      const found = names.filter((n) => components[n]);
      const down = found.some((n) => components[n]!.status === 'down');
      const degraded = found.some((n) => components[n]!.status !== 'ok');
      return {
        service,
        status: found.length === 0 ? 'unknown' : down ? 'down' : degraded ? 'degraded' : 'ok',
        components: Object.fromEntries(found.map((n) => [n, components[n]!.status])),
      };
    };
    app.get(
      '/api/v1/agi/dashboard-data',
      {
        config: access,
        schema: {
          tags,
          summary: 'PAGI BFF: the agent, sandbox and memory at a glance',
          response: {
            200: z.object({
              service: z.string(),
              status: z.string(),
              request_id: z.string(),
              data: z.object({
                python_agent: z.record(z.string(), z.unknown()),
                rust_sandbox: z.record(z.string(), z.unknown()),
                memory: latestMemory,
              }),
            }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const [report, memory] = await Promise.all([health.report(), latest(req)]);
        const c = report.components;
        const modelParts = Object.keys(c).filter((n) => n === 'model_providers' || n.startsWith('model:'));
        return {
          service,
          status: report.status === 'down' ? 'degraded' : 'ok',
          request_id: req.id,
          data: {
            python_agent: { ...part(c, modelParts), default_agent: config.compat.default_agent },
            rust_sandbox: part(c, ['sandbox']),
            memory,
          },
        };
      },
    );
  };
