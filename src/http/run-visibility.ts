import type { FastifyRequest } from 'fastify';
import type { SessionService } from '../runtime/runs/sessions.ts';
import { viewerOf } from './caller.ts';

/**
 * The one visibility rule for everything under `/v1/runs/:id` (the run, its trace, stream, fork,
 * scores): a run of another user's private session is not found (404, no existence leak). A
 * `preHandler` every run route family adds, so a new one under a run cannot forget it.
 */
export const runVisibility =
  (sessions: SessionService) =>
  async (req: FastifyRequest): Promise<void> => {
    const id = (req.params as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string' && req.principal)
      await sessions.assertRunVisible(req.principal.tenantId, id, viewerOf(req));
  };
