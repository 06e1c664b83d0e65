import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageFields } from '../../db/page.ts';
import type { Task } from '../../tasks/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import { authErrors } from '../routes/common.ts';
import type { Services } from '../services.ts';

/**
 * ZORA's Workers API (reference: zora-agent-runtime.md): `GET|POST /api/agents/tasks` and
 * `GET /api/agents/tasks/:id` on Agentry's task queue. Agents are addressed by name (`LUMINA`,
 * case-insensitive; the operations team pack creates ZORA's six), and tasks show their agent by
 * name. ZORA knows four statuses: a cancelled task shows as `failed` with its reason. ZORA defines
 * no error body, so errors keep Agentry's.
 */
const zoraStatuses = ['pending', 'in_progress', 'completed', 'failed'] as const;

const zoraTask = z.object({
  id: z.string(),
  tenant_id: z.string(),
  agent_id: z.string(),
  task_type: z.string(),
  status: z.enum(zoraStatuses),
  priority: z.number().int(),
  title: z.string(),
  description: z.string().nullable(),
  payload: z.unknown(),
  result_summary: z.string().nullable(),
  error_message: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  created_by_user_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string().nullable(),
});

const listQuery = z
  .object({
    agent_id: z.string().min(1).max(200).optional(),
    status: z.enum(zoraStatuses).optional(),
    task_type: z.string().max(64).optional(),
    ...pageFields,
  })
  .strict();

const createBody = z
  .object({
    agent_id: z.string().min(1).max(200),
    task_type: z.string().min(1).max(64),
    title: z.string().min(1).max(500),
    description: z.string().max(100_000).nullish(),
    payload: z.record(z.string(), z.unknown()).nullish(),
    priority: z.number().int().min(-1000).max(1000).optional(),
  })
  .strict();

const tags = ['compat: zora'];
const errors = authErrors;

/**
 * The user id in a task's `created_by`, as ZORA shows it: `user:alice` (a JWT's subject or a key
 * made for alice) and `dev:alice` are `alice`; a key of no user or the system is no user (null).
 */
function userOf(createdBy: string | null): string | null {
  const m = createdBy ? /^(?:user|dev):(.+)$/.exec(createdBy) : null;
  return m ? m[1]! : null;
}

export const zoraRoutes =
  ({ tasks, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    /**
     * ZORA's view of tasks: agents by name, four statuses. An agent the caller may not see (another
     * user's private one) keeps its id, so its name does not leak through its tasks.
     */
    const view = async (req: FastifyRequest, list: Task[]) => {
      const { tenantId } = principalOf(req);
      const names = new Map<string, string>();
      for (const id of new Set(list.map((t) => t.agent_id))) {
        names.set(
          id,
          await agents.get(tenantId, id, viewerOf(req)).then(
            (a) => a.name,
            () => id,
          ),
        );
      }
      return list.map((t) => ({
        id: t.id,
        tenant_id: t.tenant_id,
        agent_id: names.get(t.agent_id) ?? t.agent_id,
        task_type: t.task_type,
        status: t.status === 'cancelled' ? ('failed' as const) : t.status,
        priority: t.priority,
        title: t.title,
        description: t.description,
        payload: t.payload,
        result_summary: t.result_summary,
        error_message: t.status === 'cancelled' ? (t.error_message ?? 'cancelled') : t.error_message,
        started_at: t.started_at,
        completed_at: t.completed_at,
        created_by_user_id: userOf(t.created_by),
        created_at: t.created_at,
        updated_at: t.updated_at,
      }));
    };

    app.get(
      '/api/agents/tasks',
      {
        schema: {
          tags,
          summary: 'ZORA: list tasks, newest first (agent by name)',
          querystring: listQuery,
          response: {
            200: z.object({
              tasks: z.array(zoraTask),
              total: z.number(),
              limit: z.number(),
              offset: z.number(),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const { agent_id, ...q } = req.query;
        const agentId = agent_id ? (await agents.resolve(tenantId, agent_id, viewerOf(req))).id : undefined;
        const page = await tasks.list(tenantId, { ...q, agent_id: agentId }, viewerOf(req));
        return {
          tasks: await view(req, page.data),
          total: page.total,
          limit: page.limit,
          offset: page.offset,
        };
      },
    );

    app.get(
      '/api/agents/tasks/:id',
      {
        schema: {
          tags,
          summary: 'ZORA: one task',
          params: z.object({ id: z.uuid() }).strict(),
          response: { 200: zoraTask, ...errors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const [task] = await view(req, [await tasks.get(tenantId, req.params.id, viewerOf(req))]);
        return task!;
      },
    );

    app.post(
      '/api/agents/tasks',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'ZORA: create a task for an agent named like LUMINA',
          body: createBody,
          response: { 201: zoraTask, ...errors },
        },
      },
      async (req, reply) => {
        const { tenantId } = principalOf(req);
        const { agent_id, description, payload, ...rest } = req.body;
        const agent = await agents.resolve(tenantId, agent_id, viewerOf(req));
        // ZORA records the user who asked: the credential's user where it has one, not the key.
        const { userId } = principalOf(req);
        const { task } = await tasks.create(
          tenantId,
          { ...rest, agent_id: agent.id, description: description ?? undefined, payload: payload ?? {} },
          { ...actorOf(req), ...(userId && !userId.startsWith('key:') && { actor: userId }) },
        );
        const [shown] = await view(req, [task]);
        return reply.code(201).send(shown!);
      },
    );
  };
