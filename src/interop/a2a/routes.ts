import { AgentCard } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler, ServerCallContext, type User, validateVersion } from '@a2a-js/sdk/server';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Agent } from '../../agents/schema.ts';
import type { Services } from '../../app.ts';
import { hasScope, type Principal } from '../../auth/principal.ts';
import { AppError, notFound } from '../../errors.ts';
import { principalOf, viewerOf } from '../../http/plugins/auth.ts';
import { parseClientJson } from '../../http/plugins/client-json.ts';
import { callerOf } from '../../http/routes/chat.ts';
import { openSse } from '../../http/sse.ts';
import { agentCard } from './card.ts';
import { AgentA2AHandler } from './handler.ts';

/**
 * A2A over JSON-RPC, with the SDK's transport handlers: each published agent (`visibility:
 * public`, or every agent of a tenant whose policy says `a2a.publish_all_agents`) has its card at
 * `/a2a/{agent_id}/.well-known/agent-card.json` (public, for discovery) and its endpoint at
 * `POST /a2a/{agent_id}` (an API key of the agent's tenant; a read key reads tasks, sending or
 * cancelling needs write). A2A 1.0 method names (`SendMessage`, …) and 0.3 ones (`message/send`,
 * …, chosen by the `A2A-Version` header, 0.3 when absent) reach the same handler.
 */

const agentParams = z.object({ agent: z.uuid() }).strict();

class KeyUser implements User {
  constructor(private readonly p: Principal) {}
  get isAuthenticated() {
    return true;
  }
  get userName() {
    return this.p.keyId ?? this.p.tenantName;
  }
}

const isLegacy = (version: string) => version.startsWith('0.');

/** Methods that start, answer, stop or configure work: a write key, as the same operations over /v1. */
const writeMethods = new Set([
  'SendMessage',
  'SendStreamingMessage',
  'CancelTask',
  'CreateTaskPushNotificationConfig',
  'DeleteTaskPushNotificationConfig',
  'message/send',
  'message/stream',
  'tasks/cancel',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/delete',
]);

export const a2aRoutes =
  (services: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const { agents, policies, tenants, tools, config } = services;
    // A2A clients may send the media type A2A 1.0 names for its JSON bodies.
    app.addContentTypeParser('application/a2a+json', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(
          null,
          (body as string).trim() ? parseClientJson(body as string, config.server.json_max_depth) : {},
        );
      } catch (err) {
        done(err as Error);
      }
    });

    const published = async (agent: Agent) => {
      if (agent.visibility === 'public') return true;
      const tenant = await tenants.find(agent.tenant_id);
      return !!tenant && policies.get(tenant.name).a2a.publish_all_agents;
    };
    const baseUrl = (req: FastifyRequest) => config.a2a.public_url ?? `${req.protocol}://${req.host}`;
    const cardOf = (agent: Agent, req: FastifyRequest) =>
      agentCard(agent, baseUrl(req), tools.knownSpecs(agent.tenant_id, agent.tools), services.version);

    /** A published agent by id, in any tenant (cards are for discovery): 404 otherwise. */
    const publishedAgent = async (id: string) => {
      const agent = await agents.findById(id);
      if (!agent || !(await published(agent))) throw notFound('agent', id);
      return agent;
    };
    const serveCard = async (agent: Agent, req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'public, max-age=60');
      return AgentCard.toJSON(cardOf(agent, req));
    };

    app.get(
      '/a2a/:agent/.well-known/agent-card.json',
      {
        config: { auth: 'public' },
        schema: { tags: ['interop'], summary: "A published agent's A2A agent card", params: agentParams },
      },
      async (req, reply) => serveCard(await publishedAgent(req.params.agent), req, reply),
    );
    app.get(
      '/.well-known/agent-card.json',
      {
        config: { auth: 'public' },
        schema: { tags: ['interop'], summary: 'The A2A agent card of the agent set as `a2a.root_agent`' },
      },
      async (req, reply) => {
        if (!config.a2a.root_agent) {
          throw new AppError(
            'not_found',
            'no agent is published at the root: each published agent has its card at /a2a/{agent_id}/.well-known/agent-card.json',
          );
        }
        return serveCard(await publishedAgent(config.a2a.root_agent), req, reply);
      },
    );

    app.post(
      '/a2a/:agent',
      {
        config: { auth: 'read' },
        schema: {
          tags: ['interop'],
          summary:
            'A2A JSON-RPC endpoint of one agent (message/send, message/stream, tasks/get, tasks/cancel, push configs)',
          params: agentParams,
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const method = (req.body as { method?: unknown } | undefined)?.method;
        if (typeof method === 'string' && writeMethods.has(method) && !hasScope(p, 'write')) {
          throw new AppError('forbidden', `this API key is read-only: ${method} needs the write scope`);
        }
        // Another tenant's agent is not found, as everywhere, nor another user's private one.
        const agent = await agents.get(p.tenantId, req.params.agent, viewerOf(req));
        if (!(await published(agent))) throw notFound('agent', agent.id);
        const card = cardOf(agent, req);
        const header = req.headers['a2a-version'];
        const version = (Array.isArray(header) ? header[0] : header) || '0.3';
        const legacy = isLegacy(version);
        const mapError = legacy
          ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
          : JsonRpcTransportHandler.mapToJSONRPCError;
        const rpcId = (req.body as { id?: unknown } | undefined)?.id ?? null;
        const gone = new AbortController();
        reply.raw.on('close', () => gone.abort());
        const handler = new AgentA2AHandler(
          {
            runtime: services.runtime,
            sessions: services.sessions,
            push: services.a2aPush,
            signal: gone.signal,
            log: services.log,
          },
          agent,
          card,
          p,
          callerOf(req),
        );
        const context = new ServerCallContext({ user: new KeyUser(p), requestedVersion: version });
        try {
          validateVersion(version, card, 'JSONRPC');
        } catch (err) {
          return { jsonrpc: '2.0', id: rpcId, error: mapError(err) };
        }
        const transport = legacy
          ? new LegacyJsonRpcTransportHandler(handler)
          : new JsonRpcTransportHandler(handler);
        const out = await transport.handle(req.body as Record<string, unknown>, context);
        if (!(Symbol.asyncIterator in out)) return out;
        // A stream: an error before its first event is a plain JSON-RPC answer; later ones are events.
        const events = out[Symbol.asyncIterator]();
        let first: IteratorResult<unknown>;
        try {
          first = await events.next();
        } catch (err) {
          return { jsonrpc: '2.0', id: rpcId, error: mapError(err) };
        }
        const sse = openSse(req, reply);
        try {
          if (!first.done) await sse.send({ data: first.value });
          for (
            let next = await events.next();
            !next.done && !sse.signal.aborted;
            next = await events.next()
          ) {
            await sse.send({ data: next.value });
          }
        } catch (err) {
          if (!sse.signal.aborted)
            await sse.send({ data: { jsonrpc: '2.0', id: rpcId, error: mapError(err) } });
        } finally {
          await events.return?.(undefined);
          sse.close();
        }
      },
    );
  };
