import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newScoreBody, scoreHistoryEntry, scorePatch, scoreSchema } from '../../eval/scores/scores.ts';
import { feedbackOnly, scoreAuthorOf } from '../../eval/scores/source.ts';
import { actorOf, principalOf } from '../caller.ts';
import { runVisibility } from '../run-visibility.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['runs'];

const scoreParams = z.object({ id: z.uuid(), score_id: z.uuid() }).strict();

export const runScoreRoutes =
  ({ scores, sessions, feedbackLimit, policies }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.addHook('preHandler', async (req) => {
      const p = req.principal;
      if (!p) return;
      // An end user's key posts so many scores a minute, counted before any look-up.
      if (feedbackOnly(p))
        await feedbackLimit.take(
          p.tenantId,
          p.keyId ?? p.subject,
          policies.get(p.tenantName).rate_limits.feedback_per_minute,
        );
    });
    app.addHook('preHandler', runVisibility(sessions));

    app.post(
      '/v1/runs/:id/scores',
      {
        // A `feedback` key (an app's end users) may post here and nowhere else.
        config: { auth: 'write', orScope: 'feedback' },
        schema: {
          tags,
          summary:
            'Attach a score to a run: a number, or a value checked against a score config; source and author come from the credential',
          params: idParams,
          body: newScoreBody,
          response: { 201: scoreSchema, ...authErrors, 429: errorResponse },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        return reply.code(201).send(await scores.add(p.tenantId, req.params.id, req.body, scoreAuthorOf(p)));
      },
    );

    app.get(
      '/v1/runs/:id/scores',
      {
        schema: {
          tags,
          summary: "A run's scores, oldest first",
          params: idParams,
          response: { 200: z.object({ data: z.array(scoreSchema) }), ...authErrors },
        },
      },
      async (req) => ({ data: await scores.list(principalOf(req).tenantId, req.params.id) }),
    );

    app.patch(
      '/v1/runs/:id/scores/:score_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Change a score's value or comment (its author or an admin); the score before is kept in its history",
          params: scoreParams,
          body: scorePatch,
          response: { 200: scoreSchema, ...authErrors },
        },
      },
      async (req) => {
        const p = principalOf(req);
        const { id, score_id } = req.params;
        return scores.update(p.tenantId, id, score_id, req.body, scoreAuthorOf(p), actorOf(req));
      },
    );

    app.delete(
      '/v1/runs/:id/scores/:score_id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a score (its author or an admin); its history stays',
          params: scoreParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        await scores.remove(p.tenantId, req.params.id, req.params.score_id, scoreAuthorOf(p), actorOf(req));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/runs/:id/scores/:score_id/history',
      {
        schema: {
          tags,
          summary: 'A score as it was before each edit and its deletion, with who changed it and when',
          params: scoreParams,
          response: { 200: z.object({ data: z.array(scoreHistoryEntry) }), ...authErrors },
        },
      },
      async (req) => ({
        data: await scores.history(principalOf(req).tenantId, req.params.id, req.params.score_id),
      }),
    );
  };
