import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scaffoldZip } from '../../agents/local-dev/scaffold.ts';
import { type Agent, agentName } from '../../agents/schema.ts';
import { actorOf, callerOf, principalOf, viewerOf } from '../caller.ts';
import { agentParams, authErrors, hostGuardErrors } from '../routes/common.ts';
import { replyWithRun } from '../run-reply.ts';
import type { Services } from '../services.ts';
import { agentFor } from './default-agent.ts';
import {
  configView,
  createConfig,
  templateView,
  toAgentFields,
  updateConfig,
  viewConfig,
  viewTemplate,
} from './isa-configs.ts';
import { announceModel, isaAnswer, isaResult } from './run-answers.ts';

/**
 * isA's agent service contract (reference: isa-agent-creation.md), first part: templates, agent
 * configs (CRUD), chat (streamed with Agentry's own event order, which is isA's, or one JSON
 * answer), `/query`, the scaffold and local-dev configs. Field names are isA's (`model_id`, `env`,
 * `visibility`, `owner_id`); a config is an Agentry agent, found by id or by name. A client's
 * `session_id` may be any string, and names a session of the calling user's own. Creating answers
 * 200, as isA does.
 */

const chatBody = z
  .object({
    agent_config_id: z.string().min(1).max(200),
    message: z.string().min(1).max(200_000),
    stream: z.boolean().default(true),
    session_id: z.string().min(1).max(200).optional(),
  })
  .strict();

const queryBody = z
  .object({
    query: z.string().min(1).max(200_000).optional(),
    message: z.string().min(1).max(200_000).optional(),
    agent_config_id: z.string().min(1).max(200).optional(),
    session_id: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => (b.query ?? b.message) !== undefined, {
    message: 'send query (or message)',
    path: ['query'],
  });

const tags = ['compat: isa'];

export const isaRoutes =
  ({ agents, templates, runtime, sessions, deployments, config, models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/api/v1/agents/templates',
      {
        config: { auth: 'optional' },
        schema: {
          tags,
          summary: 'isA: list templates',
          security: [],
          response: { 200: z.array(templateView), ...hostGuardErrors },
        },
      },
      async (req) => (await templates.list(req.principal?.tenantId)).map(viewTemplate),
    );
    app.get(
      '/api/v1/agents/templates/:id',
      {
        config: { auth: 'optional' },
        schema: {
          tags,
          summary: 'isA: one template',
          security: [],
          params: z.object({ id: z.string().min(1).max(100) }).strict(),
          response: { 200: templateView, ...authErrors },
        },
      },
      async (req) => viewTemplate(await templates.get(req.principal?.tenantId, req.params.id)),
    );

    app.get(
      '/api/v1/agents/configs',
      {
        schema: {
          tags,
          summary: 'isA: list agent configs',
          querystring: z
            .object({
              limit: z.coerce.number().int().min(1).max(500).default(100),
              offset: z.coerce.number().int().min(0).default(0),
            })
            .strict(),
          response: { 200: z.array(configView), ...authErrors },
        },
      },
      async (req) =>
        (await agents.list(principalOf(req).tenantId, req.query, viewerOf(req))).data.map(viewConfig),
    );
    app.post(
      '/api/v1/agents/configs',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: create an agent config',
          body: createConfig,
          response: { 200: configView, ...authErrors },
        },
      },
      async (req) => {
        const { template_id, source, ...fields } = req.body;
        const { tenantId, userId } = principalOf(req);
        const agent = await agents.create(
          tenantId,
          { ...toAgentFields(fields), name: fields.name, template_id, source },
          actorOf(req),
          userId,
          viewerOf(req),
        );
        return viewConfig(agent);
      },
    );
    app.get(
      '/api/v1/agents/configs/:id',
      {
        schema: {
          tags,
          summary: 'isA: one agent config (by id or name)',
          params: agentParams,
          response: { 200: configView, ...authErrors },
        },
      },
      async (req) =>
        viewConfig(await agents.resolve(principalOf(req).tenantId, req.params.id, viewerOf(req))),
    );
    app.patch(
      '/api/v1/agents/configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: change an agent config, by id or name (fields not sent are kept)',
          params: agentParams,
          body: updateConfig,
          response: { 200: configView, ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const id = await agents.idOf(tenantId, req.params.id, viewerOf(req));
        return viewConfig(
          await agents.update(tenantId, id, toAgentFields(req.body), actorOf(req), viewerOf(req)),
        );
      },
    );
    app.delete(
      '/api/v1/agents/configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: delete an agent config, by id or name',
          params: agentParams,
          response: { 200: z.object({ success: z.boolean(), id: z.string() }), ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const id = await agents.idOf(tenantId, req.params.id, viewerOf(req));
        await agents.delete(tenantId, id, actorOf(req), viewerOf(req));
        return { success: true, id };
      },
    );

    /** Starts a run for isA's chat or query on `agent`, in the session the caller's own key names. */
    const start = async (
      req: FastifyRequest,
      agent: Agent,
      message: string,
      sessionKey: string | undefined,
      stream: boolean,
    ) => {
      const { tenantId, userId } = principalOf(req);
      const session_id = sessionKey
        ? await sessions.forClientKey(tenantId, agent.id, sessionKey, userId)
        : undefined;
      return runtime.run(callerOf(req), agent.id, {
        message,
        session_id,
        stream,
        multitask: 'enqueue',
        on_disconnect: 'continue',
      });
    };
    app.post(
      '/api/v1/agents/chat',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'isA: chat (SSE session_start, system, text, result, session_end, [DONE]; or JSON with stream false)',
          body: chatBody,
          produces: ['text/event-stream', 'application/json'],
          response: { 200: isaAnswer, ...authErrors },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const agent = await agents.resolve(principalOf(req).tenantId, b.agent_config_id, viewerOf(req));
        const handle = await start(req, agent, b.message, b.session_id, b.stream);
        if (b.stream) {
          announceModel(reply, models.catalog, agent.model);
          return replyWithRun(runtime, req, reply, handle, { stream: true, on_disconnect: 'continue' });
        }
        return isaResult(handle, reply);
      },
    );

    app.post(
      '/query',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: a simple non-streaming question to an agent (the default one when none is named)',
          body: queryBody,
          response: { 200: isaAnswer, ...authErrors },
        },
      },
      async (req, reply) => {
        const b = req.body;
        // No agent named: the configured default, made on first use, as the other families do.
        const agent = await agentFor(agents, req, b.agent_config_id, config.compat.default_agent);
        return isaResult(await start(req, agent, (b.query ?? b.message)!, b.session_id, false), reply);
      },
    );

    app.get(
      '/api/v1/agents/scaffold',
      {
        schema: {
          tags,
          summary: 'isA: download the local-dev agent scaffold (zip)',
          querystring: z.object({ name: agentName.default('my-agent') }).strict(),
          response: { 200: z.any().describe('application/zip'), ...authErrors },
        },
      },
      async (req, reply) =>
        reply
          .header('content-type', 'application/zip')
          .header('content-disposition', `attachment; filename="${req.query.name.replaceAll(' ', '-')}.zip"`)
          .send(Buffer.from(scaffoldZip(req.query.name))),
    );

    app.post(
      '/api/v1/agents/local-dev',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: create a local-dev agent config',
          body: z
            .object({
              name: agentName,
              description: z.string().max(2000).optional(),
              deployment_id: z.string().min(1).max(200).optional(),
              model_id: z.string().min(1).max(200).optional(),
            })
            .strict(),
          response: { 200: z.object({ agent: configView, scaffold_url: z.string() }), ...authErrors },
        },
      },
      async (req) => {
        const { deployment_id, model_id, ...rest } = req.body;
        const { tenantId, userId } = principalOf(req);
        const agent = await deployments.createAgent(
          tenantId,
          {
            ...rest,
            ...(model_id ? { model: model_id } : {}),
            ...(deployment_id ? { metadata: { deployment_id } } : {}),
          },
          actorOf(req),
          userId,
        );
        const base = `${req.protocol}://${req.host}`;
        return {
          agent: viewConfig(agent),
          scaffold_url: `${base}/api/v1/agents/scaffold?name=${encodeURIComponent(agent.name)}`,
        };
      },
    );
  };
