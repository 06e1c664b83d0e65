import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scaffoldZip } from '../../agents/local-dev/scaffold.ts';
import { type Agent, agentModes, agentName, type Template } from '../../agents/schema.ts';
import type { Services } from '../../app.ts';
import { actorOf, principalOf, viewerOf } from '../plugins/auth.ts';
import { callerOf, replyWithRun } from '../routes/chat.ts';
import { authErrors } from '../routes/common.ts';
import { isaAnswer, isaResult } from './run-answers.ts';

/**
 * isA's agent service contract (reference: isa-agent-creation.md), first part: templates, agent
 * configs (CRUD), chat (streamed with Agentry's own event order, which is isA's, or one JSON
 * answer), `/query`, the scaffold and local-dev configs. Field names are isA's (`model_id`, `env`
 * values `in_process`, `cloud_shared`, `cloud_pool`, `deployment`); a config is an Agentry agent.
 * `env` runs in process for the first three (the warm pool serves local-dev deployments) and as a
 * deployed local-dev agent for `deployment`; the value a client set is kept with the agent and shown
 * back. A client's `session_id` may be any string. Creating answers 200, as isA does.
 */
const isaEnvs = ['in_process', 'cloud_shared', 'cloud_pool', 'deployment'] as const;
type IsaEnv = (typeof isaEnvs)[number];

const configFields = {
  name: agentName,
  description: z.string().max(2000),
  model_id: z.string().min(1).max(200),
  system_prompt: z.string().max(100_000),
  tools: z.array(z.string().min(1).max(200)).max(200),
  skills: z.array(z.string().min(1).max(200)).max(200),
  mode: z.enum(agentModes),
  env: z.enum(isaEnvs),
  metadata: z.record(z.string(), z.unknown()),
};
const createConfig = z
  .object({
    ...configFields,
    template_id: z.string().min(1).max(100),
    source: z.enum(['basic', 'template', 'generated', 'local']),
  })
  .partial()
  .required({ name: true })
  .strict();
const updateConfig = z.object(configFields).partial().strict();

const configView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  model_id: z.string(),
  system_prompt: z.string(),
  tools: z.array(z.string()),
  skills: z.array(z.string()),
  mode: z.string(),
  env: z.string(),
  source: z.string(),
  template_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  owner_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

const templateView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  model_id: z.string().nullable(),
  system_prompt: z.string(),
  tools: z.array(z.string()),
  skills: z.array(z.string()),
  mode: z.string(),
  env: z.string(),
});

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

const isaEnvOf = (a: Agent): IsaEnv => {
  const kept = (a.metadata as { isa_env?: unknown }).isa_env;
  if (typeof kept === 'string' && (isaEnvs as readonly string[]).includes(kept)) return kept as IsaEnv;
  return a.env === 'pool' ? 'deployment' : 'in_process';
};

const viewConfig = (a: Agent) => ({
  id: a.id,
  name: a.name,
  description: a.description,
  model_id: a.model,
  system_prompt: a.system_prompt,
  tools: a.tools,
  skills: a.skills,
  mode: a.mode,
  env: isaEnvOf(a),
  source: a.source,
  template_id: a.template_id,
  metadata: a.metadata,
  owner_id: a.owner,
  created_at: a.created_at,
  updated_at: a.updated_at,
});

const viewTemplate = (t: Template) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  model_id: t.model,
  system_prompt: t.system_prompt,
  tools: t.tools,
  skills: t.skills,
  mode: t.mode,
  env: t.env === 'pool' ? 'deployment' : 'in_process',
});

/** isA's config fields as Agentry's; only fields the client sent are passed, so a template fills the rest. */
function toAgentFields(body: z.infer<typeof updateConfig>, metadata?: Record<string, unknown>) {
  const { model_id, env, metadata: sent, ...rest } = body;
  return {
    ...rest,
    ...(model_id === undefined ? {} : { model: model_id }),
    ...(env === undefined ? {} : { env: env === 'deployment' ? ('pool' as const) : ('in_process' as const) }),
    ...(env === undefined && sent === undefined
      ? {}
      : { metadata: { ...metadata, ...sent, ...(env ? { isa_env: env } : {}) } }),
  };
}

const tags = ['compat: isa'];
const configParams = z.object({ id: z.uuid() }).strict();

export const isaRoutes =
  ({ agents, templates, runtime, sessions, deployments }: Services): FastifyPluginAsync =>
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
          response: { 200: z.array(templateView) },
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
        const agent = await agents.create(
          principalOf(req).tenantId,
          { ...toAgentFields(fields), name: fields.name, template_id, source },
          actorOf(req),
          principalOf(req).userId,
        );
        return viewConfig(agent);
      },
    );
    app.get(
      '/api/v1/agents/configs/:id',
      {
        schema: {
          tags,
          summary: 'isA: one agent config',
          params: configParams,
          response: { 200: configView, ...authErrors },
        },
      },
      async (req) => viewConfig(await agents.get(principalOf(req).tenantId, req.params.id, viewerOf(req))),
    );
    app.patch(
      '/api/v1/agents/configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: change an agent config (fields not sent are kept)',
          params: configParams,
          body: updateConfig,
          response: { 200: configView, ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const current = await agents.get(tenantId, req.params.id, viewerOf(req));
        const fields = toAgentFields(req.body, current.metadata);
        return viewConfig(await agents.update(tenantId, req.params.id, fields, actorOf(req), viewerOf(req)));
      },
    );
    app.delete(
      '/api/v1/agents/configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'isA: delete an agent config',
          params: configParams,
          response: { 200: z.object({ success: z.boolean(), id: z.string() }), ...authErrors },
        },
      },
      async (req) => {
        await agents.delete(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req));
        return { success: true, id: req.params.id };
      },
    );

    /** Starts a run for isA's chat or query: agent by id or name, session by any client string. */
    const start = async (
      req: FastifyRequest,
      agentRef: string,
      message: string,
      sessionKey: string | undefined,
      stream: boolean,
    ) => {
      const { tenantId } = principalOf(req);
      const agent = await agents.resolve(tenantId, agentRef, viewerOf(req));
      const session_id = sessionKey ? await sessions.forClientKey(tenantId, agent.id, sessionKey) : undefined;
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
        const handle = await start(req, b.agent_config_id, b.message, b.session_id, b.stream);
        if (b.stream)
          return replyWithRun(runtime, req, reply, handle, { stream: true, on_disconnect: 'continue' });
        return isaResult(handle);
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
      async (req) => {
        const b = req.body;
        const handle = await start(
          req,
          b.agent_config_id ?? 'default',
          (b.query ?? b.message)!,
          b.session_id,
          false,
        );
        return isaResult(handle);
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
        const agent = await deployments.createAgent(
          principalOf(req).tenantId,
          {
            ...rest,
            ...(model_id ? { model: model_id } : {}),
            ...(deployment_id ? { metadata: { deployment_id } } : {}),
          },
          actorOf(req),
        );
        const base = `${req.protocol}://${req.host}`;
        return {
          agent: viewConfig(agent),
          scaffold_url: `${base}/api/v1/agents/scaffold?name=${encodeURIComponent(agent.name)}`,
        };
      },
    );
  };
