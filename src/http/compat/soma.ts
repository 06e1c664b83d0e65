import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Viewer } from '../../auth/ownership.ts';
import { AppError, notFound } from '../../errors.ts';
import type { Task } from '../../tasks/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import { authErrors, errorResponse } from '../routes/common.ts';
import type { Services } from '../services.ts';
import { agentFor } from './default-agent.ts';

/**
 * SomaAgent01's delegation gateway (reference: somaagent01.md): `POST /v1/delegation/task` queues
 * a task, `GET /v1/delegation/task/{task_id}` polls it, and a downstream worker that finished it
 * reports through `POST /callback`. The task runs on the named agent (or the default one) like any
 * queued task, unless its topic or task type is one of `compat.soma_external`'s: then it is the
 * downstream worker's (the task's `external` is its topic) and waits, pending, for that worker's
 * callback. A worker's callback completes it as `POST /v1/tasks/:id/callback` does. A client's
 * own `task_id` is kept as the task's idempotency key, so polling by it works and a repeated
 * delegation does not queue twice. `X-Tenant-Id` (what `SOMA_TENANT_ID` sets) must name the key's
 * own tenant. The reference defines no error body: errors keep Agentry's.
 */
const SOMA_TOPIC = 'somastack.delegation';

const delegateBody = z
  .object({
    task_id: z.string().min(1).max(200).optional(),
    agent: z.string().min(1).max(200).optional(),
    task_type: z.string().min(1).max(64).default('default'),
    /** The topic the task is posted on (SomaAgent01's gateway posts onto `somastack.delegation`). */
    topic: z.string().min(1).max(200).default(SOMA_TOPIC),
    title: z.string().min(1).max(500).optional(),
    description: z.string().max(100_000).optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
    /** The client's own record of the task, kept with it (in its payload, as `metadata`) and shown on every poll. */
    metadata: z.record(z.string(), z.unknown()).optional(),
    callback_url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
  })
  .strict();

const callbackBody = z
  .object({
    task_id: z.string().min(1).max(200),
    status: z.enum(['completed', 'failed']),
    result: z.unknown().optional(),
    error: z.string().max(100_000).optional(),
  })
  .strict()
  .refine((b) => b.status !== 'failed' || b.error !== undefined, {
    message: 'a failed report needs an error',
    path: ['error'],
  });

const somaStatus = {
  pending: 'queued',
  in_progress: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'failed',
} as const;

const delegation = z.object({
  task_id: z.string(),
  id: z.string(),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  result: z.unknown(),
  error: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The task's metadata, where a delegation put it. */
function metadataOf(payload: unknown): Record<string, unknown> | null {
  const m = (payload as { metadata?: unknown } | null)?.metadata;
  return m && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, unknown>) : null;
}

const tags = ['compat: soma'];
const errors = { ...authErrors, 409: errorResponse };

export const somaRoutes =
  ({ tasks, agents, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    /** The key's tenant; `X-Tenant-Id` may name it (by id or name) but never another one. */
    const tenantOf = (req: FastifyRequest): string => {
      const p = principalOf(req);
      const named = req.headers['x-tenant-id'];
      if (typeof named === 'string' && named && named !== p.tenantId && named !== p.tenantName) {
        throw new AppError('forbidden', `X-Tenant-Id ${named} is not the tenant of this key`);
      }
      return p.tenantId;
    };

    /**
     * A task by Agentry id or by the client's task_id (its idempotency key); with a viewer, one of
     * another user's private agent is not found.
     */
    const find = async (tenantId: string, ref: string, viewer: Viewer): Promise<Task> => {
      const byKey = await tasks.byIdempotencyKey(tenantId, ref, viewer);
      if (byKey) return byKey;
      if (!/^[0-9a-f-]{36}$/i.test(ref)) throw notFound('task', ref);
      return tasks.get(tenantId, ref, viewer);
    };

    const view = (t: Task, ref: string) => ({
      task_id: ref,
      id: t.id,
      status: somaStatus[t.status],
      result: t.result,
      error: t.error_message,
      metadata: metadataOf(t.payload),
      created_at: t.created_at,
      updated_at: t.updated_at,
    });

    app.post(
      '/v1/delegation/task',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'SomaAgent01: delegate a task (queued)',
          operationId: 'somaDelegateTask',
          body: delegateBody,
          response: { 200: delegation, ...errors },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req);
        const b = req.body;
        if (b.metadata && b.payload.metadata !== undefined)
          throw new AppError('validation_error', 'send metadata or payload.metadata, not both');
        const agent = await agentFor(agents, req, b.agent, config.compat.default_agent);
        // Delegations for downstream workers wait for their /callback: no worker here takes them.
        const { topics, task_types } = config.compat.soma_external;
        const external = topics.includes(b.topic) || task_types.includes(b.task_type) ? b.topic : undefined;
        const { task } = await tasks.create(
          tenantId,
          {
            agent_id: agent.id,
            task_type: b.task_type,
            title: b.title ?? `delegated ${b.task_type}`,
            description: b.description,
            payload: b.metadata ? { ...b.payload, metadata: b.metadata } : b.payload,
            callback_url: b.callback_url,
            idempotency_key: b.task_id,
            external,
          },
          actorOf(req),
          viewerOf(req),
        );
        return view(task, b.task_id ?? task.id);
      },
    );

    app.get(
      '/v1/delegation/task/:task_id',
      {
        schema: {
          tags,
          summary: 'SomaAgent01: poll a delegated task',
          params: z.object({ task_id: z.string().min(1).max(200) }).strict(),
          response: { 200: delegation, ...errors },
        },
      },
      async (req) => view(await find(tenantOf(req), req.params.task_id, viewerOf(req)), req.params.task_id),
    );

    app.post(
      '/callback',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'SomaAgent01: a downstream worker reports a result',
          body: callbackBody,
          response: { 200: delegation, ...errors },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req);
        const { task_id, status, result, error } = req.body;
        // The reporting worker's key must see the task, as for a poll: a client-chosen task_id
        // never lets another user complete (or read) a private agent's task.
        const task = await find(tenantId, task_id, viewerOf(req));
        const done = await tasks.report(tenantId, task.id, { status, result, error }, actorOf(req));
        return view(done, task_id);
      },
    );
  };
