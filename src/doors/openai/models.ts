import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { principalOf, viewerOf } from '../../http/caller.ts';
import {
  agentPinOf,
  anthropicErrorResponse,
  modelDoorErrors,
  openaiErrorResponse,
} from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { AGENT_MODEL_PREFIX, isAgentModel } from '../agent-models.ts';
import { anthropicErrorHandler } from '../anthropic/errors.ts';
import { openaiErrorHandler } from './errors.ts';

const openaiModel = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number(),
  owned_by: z.string(),
});
const openaiList = z.object({ object: z.literal('list'), data: z.array(openaiModel) });
const anthropicModel = z.object({
  type: z.literal('model'),
  id: z.string(),
  display_name: z.string(),
  created_at: z.string(),
});
const anthropicList = z.object({
  data: z.array(anthropicModel),
  has_more: z.boolean(),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
});
/** Anthropic's page parameters (its clients' `models.list`); OpenAI's list has none. */
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  after_id: z.string().max(200).optional(),
  before_id: z.string().max(200).optional(),
});

const errors = modelDoorErrors(z.union([openaiErrorResponse, anthropicErrorResponse]));

/** Agents listed as models, at most (the page size of GET /v1/agents). */
const AGENTS_LISTED = 500;

/**
 * Anthropic's clients send `anthropic-version` on every request (OpenAI's never do): those callers
 * get Anthropic's shapes, the others OpenAI's.
 */
const fromAnthropic = (req: FastifyRequest) => req.headers['anthropic-version'] !== undefined;

const errorHandler = (raw: unknown, req: FastifyRequest, reply: FastifyReply) =>
  fromAnthropic(req) ? anthropicErrorHandler(raw, req, reply) : openaiErrorHandler(raw, req, reply);

/**
 * GET /v1/models: the models the caller's tenant may use, then its agents as `agent/<name>`; GET /v1/models/{id} one of them, the id
 * taken whole (ids hold `/`). Each client gets its vendor's shapes, errors included: OpenAI's list
 * and model objects, or Anthropic's (`type: model`, `display_name`, pages by `after_id`/`before_id`).
 */
export const modelRoutes =
  ({ models, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/models',
      {
        schema: {
          tags: ['models'],
          summary: "Models this tenant may use (Anthropic's list shape for Anthropic's clients)",
          querystring: listQuery,
          response: { 200: z.union([openaiList, anthropicList]), ...errors },
        },
        errorHandler,
      },
      async (req) => {
        const principal = principalOf(req);
        // The agents the caller may run as models (agent-models.ts) follow the gateway's models.
        const page = await agents.list(
          principal.tenantId,
          { limit: AGENTS_LISTED, offset: 0 },
          viewerOf(req),
        );
        const ids = [
          ...models.modelsFor(principal.tenantName),
          ...page.data.map((a) => `${AGENT_MODEL_PREFIX}${a.name}`),
        ];
        if (!fromAnthropic(req)) return { object: 'list' as const, data: ids.map(openaiModelOf) };
        return anthropicPage(ids, req.query);
      },
    );
    app.get(
      '/v1/models/*',
      {
        schema: {
          tags: ['models'],
          summary: 'One model this tenant may use (its id may hold slashes)',
          params: z.object({ '*': z.string().min(1).max(200) }),
          response: { 200: z.union([openaiModel, anthropicModel]), ...errors },
        },
        errorHandler,
      },
      async (req) => {
        const id = req.params['*'];
        const tenant = principalOf(req).tenantName;
        if (isAgentModel(id)) {
          // An agent the caller may run as a model (agent-models.ts); a pinned version must exist.
          const { agentId, version } = await agentPinOf(agents, req, id.slice(AGENT_MODEL_PREFIX.length));
          if (version !== undefined)
            await agents.at(principalOf(req).tenantId, agentId, version, viewerOf(req));
          return fromAnthropic(req) ? anthropicModelOf(id) : openaiModelOf(id);
        }
        // A known model, or any provider/model the catalog resolves and the policy allows.
        if (models.modelsFor(tenant).includes(id) || models.servable(tenant, id)) {
          return fromAnthropic(req) ? anthropicModelOf(id) : openaiModelOf(id);
        }
        throw new AppError('not_found', `model ${id} not found`, { details: { param: 'model' } });
      },
    );
  };

/** One page of Anthropic's list: `limit` ids (20 by default) after `after_id` or before `before_id`. */
function anthropicPage(ids: string[], q: z.infer<typeof listQuery>) {
  const limit = q.limit ?? 20;
  let page: string[];
  let more: boolean;
  if (q.before_id !== undefined) {
    const end = Math.max(0, ids.indexOf(q.before_id));
    page = ids.slice(Math.max(0, end - limit), end);
    more = end - limit > 0;
  } else {
    const start = q.after_id !== undefined ? ids.indexOf(q.after_id) + 1 : 0;
    page = start > 0 || q.after_id === undefined ? ids.slice(start, start + limit) : [];
    more = start + limit < ids.length && page.length > 0;
  }
  return {
    data: page.map(anthropicModelOf),
    has_more: more,
    first_id: page[0] ?? null,
    last_id: page.at(-1) ?? null,
  };
}

function openaiModelOf(id: string) {
  return {
    id,
    object: 'model' as const,
    created: 0,
    owned_by: id.includes('/') ? id.slice(0, id.indexOf('/')) : 'alias',
  };
}

function anthropicModelOf(id: string) {
  // The gateway knows no release dates: the epoch, as OpenAI's `created: 0`.
  return { type: 'model' as const, id, display_name: id, created_at: new Date(0).toISOString() };
}
