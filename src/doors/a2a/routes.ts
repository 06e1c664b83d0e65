import { AgentCard } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler, ServerCallContext, type User, validateVersion } from '@a2a-js/sdk/server';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Agent } from '../../agents/schema.ts';
import { hasScope, type Principal } from '../../auth/principal.ts';
import { AppError, notFound } from '../../errors.ts';
import { callerOf, principalOf, viewerOf } from '../../http/caller.ts';
import { authErrors, errorResponse, hostGuardErrors, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { openSse } from '../../http/sse.ts';
import { checkListStatus } from '../../runtime/a2a/task-list.ts';
import { a2aPath, agentCard } from './card.ts';
import { AgentA2AHandler } from './handler.ts';
import { envelopeError, idOf, parseRpcBody, versionOf } from './json-rpc.ts';
import { legacyCardJson } from './legacy-card.ts';
import { maxListed, PublishedAgents } from './published.ts';

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

/** What a card built from the request's own host depends on (`trustProxy` honours the forwarded ones). */
const hostHeaders = 'host, x-forwarded-host, x-forwarded-proto';

/** The version a client names: the `A2A-Version` header, or the request parameter of that name (A2A 1.0 §3.2). */
function askedVersion(req: FastifyRequest): string | undefined {
  const header = req.headers['a2a-version'];
  if (header) return Array.isArray(header) ? header[0] : header;
  const q = req.query as Record<string, unknown> | undefined;
  const param = q?.['A2A-Version'] ?? q?.['a2a-version'];
  return typeof param === 'string' && param ? param : undefined;
}

/** Lists a result must carry even when empty (proto3 JSON leaves empty repeated fields out). */
const listFields: Record<string, string> = { ListTasks: 'tasks', ListTaskPushNotificationConfigs: 'configs' };

function withLists<T>(method: string, answer: T): T {
  const result = (answer as { result?: Record<string, unknown> }).result;
  const field = listFields[method];
  if (field && result && typeof result === 'object' && !Array.isArray(result)) result[field] ??= [];
  return answer;
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
    const { agents, tools, config } = services;
    // JSON bodies under the edge's rules, but a body that is not JSON reaches the handler, which
    // answers JSON-RPC's -32700 instead of the API's 400. A2A 1.0 clients may send its media type.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      ['application/json', 'application/a2a+json'],
      { parseAs: 'string' },
      (_req, body, done) => done(null, parseRpcBody(body as string, config.server.json_max_depth)),
    );

    const published = new PublishedAgents(services);
    // The configured public URL when there is one; else the request's own, whose Host the host
    // guard (plugins/host-guard.ts) has checked, and which no shared cache may keep for others.
    const baseUrl = (req: FastifyRequest) => config.a2a.public_url ?? `${req.protocol}://${req.host}`;
    const cardOf = (agent: Agent, req: FastifyRequest) =>
      agentCard(agent, baseUrl(req), tools.knownSpecs(agent.tenant_id, agent.tools), services.version);

    /** A card as the client reads it: 1.0 when it says so (`A2A-Version: 1.x`), else the 0.3 form. */
    const serveCard = (
      card: AgentCard,
      req: FastifyRequest,
      reply: FastifyReply,
    ): Record<string, unknown> => {
      if (config.a2a.public_url) reply.header('cache-control', 'public, max-age=60');
      else reply.header('cache-control', 'private, max-age=60');
      reply.header('vary', config.a2a.public_url ? 'a2a-version' : `a2a-version, ${hostHeaders}`);
      return (
        String(askedVersion(req) ?? '').startsWith('1.') ? AgentCard.toJSON(card) : legacyCardJson(card)
      ) as Record<string, unknown>;
    };
    /**
     * Where no agent's card is (the host's root without `a2a.root_agent`, and `/a2a/` where a
     * slash-less endpoint URL leads): a 404, not a card, since a card there would have no endpoint
     * an A2A client could call (docs/interop.md); its details list the published agents' cards.
     */
    const noCardHere = async (req: FastifyRequest, where: string): Promise<never> => {
      const base = baseUrl(req).replace(/\/+$/, '');
      const listed = await published.list();
      const count = `${listed.length}${listed.length === maxListed ? ' or more' : ''}`;
      throw new AppError(
        'not_found',
        `no agent card ${where}: each A2A agent this server publishes (${count}) has its own card at ` +
          `${base}/a2a/{agent_id}/.well-known/agent-card.json, listed in details; a2a.root_agent ` +
          "(AGENTRY_A2A_ROOT_AGENT) serves one of them at the host's root",
        {
          details: {
            setting: 'a2a.root_agent',
            variable: 'AGENTRY_A2A_ROOT_AGENT',
            agents: listed.map((a) => ({
              id: a.id,
              name: a.name,
              description: a.description,
              card: `${base}${a2aPath(a.id)}/.well-known/agent-card.json`,
              endpoint: `${base}${a2aPath(a.id)}/`,
            })),
          },
        },
      );
    };

    app.get(
      '/a2a/:agent/.well-known/agent-card.json',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['interop'],
          operationId: 'getA2aAgentCard',
          summary: "A published agent's A2A agent card",
          params: agentParams,
          response: { 200: wireObject("The agent's A2A agent card"), 404: errorResponse, ...hostGuardErrors },
        },
      },
      async (req, reply) => serveCard(cardOf(await published.get(req.params.agent), req), req, reply),
    );
    app.get(
      '/.well-known/agent-card.json',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['interop'],
          operationId: 'getRootAgentCard',
          summary:
            "The card of the agent set as `a2a.root_agent`; without one, a 404 listing the published agents' cards",
          response: { 200: wireObject('An A2A agent card'), 404: errorResponse, ...hostGuardErrors },
        },
      },
      async (req, reply) => {
        const root = config.a2a.root_agent;
        if (!root) return noCardHere(req, "at the host's root");
        return serveCard(cardOf(await published.get(root), req), req, reply);
      },
    );
    // Where a client given `/a2a/{agent_id}` without its trailing slash looks: no card, pointers to them.
    app.get(
      '/a2a/.well-known/agent-card.json',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['interop'],
          operationId: 'getA2aServerCard',
          summary: "A 404 listing the published agents' cards: each agent's card is below its endpoint",
          // Always a 404: no operation for generated clients to call (the API document lists answers that succeed).
          hide: true,
          response: { 404: errorResponse, ...hostGuardErrors },
        },
      },
      async (req) => noCardHere(req, 'under /a2a/ itself'),
    );

    const endpoint = async (req: FastifyRequest<{ Params: { agent: string } }>, reply: FastifyReply) => {
      const p = principalOf(req);
      const invalid = envelopeError(req.body);
      if (invalid) return invalid;
      const { method } = req.body as { method: string };
      if (writeMethods.has(method) && !hasScope(p, 'write')) {
        throw new AppError('forbidden', `this API key is read-only: ${method} needs the write scope`);
      }
      // Another tenant's agent is not found, as everywhere, nor another user's private one.
      const agent = await agents.get(p.tenantId, req.params.agent, viewerOf(req));
      if (!(await published.isPublished(agent))) throw notFound('agent', agent.id);
      const card = cardOf(agent, req);
      const version = versionOf(askedVersion(req), method);
      const legacy = isLegacy(version);
      const mapError = legacy
        ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
        : JsonRpcTransportHandler.mapToJSONRPCError;
      const rpcId = idOf(req.body);
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      const handler = new AgentA2AHandler(
        {
          tasks: services.a2aTasks,
          sendWaitMs: config.a2a.send_wait_ms,
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
        if (method === 'ListTasks' || method === 'tasks/list')
          checkListStatus((req.body as { params?: { status?: unknown } }).params?.status);
      } catch (err) {
        return { jsonrpc: '2.0', id: rpcId, error: mapError(err) };
      }
      const transport = legacy
        ? new LegacyJsonRpcTransportHandler(handler)
        : new JsonRpcTransportHandler(handler);
      const out = await transport.handle(req.body as Record<string, unknown>, context);
      if (!(Symbol.asyncIterator in out)) return withLists(method, out);
      // A stream is an event stream from the start: an error, even before the first event (a task
      // that does not exist), is its one event, as the SDKs read it.
      const events = out[Symbol.asyncIterator]();
      const sse = openSse(req, reply);
      try {
        for (let next = await events.next(); !next.done && !sse.signal.aborted; next = await events.next()) {
          await sse.send({ data: next.value });
        }
      } catch (err) {
        if (!sse.signal.aborted)
          await sse.send({ data: { jsonrpc: '2.0', id: rpcId, error: mapError(err) } });
      } finally {
        await events.return?.(undefined);
        sse.close();
      }
    };

    app.post(
      '/a2a/:agent',
      {
        config: { auth: 'read' },
        schema: {
          tags: ['interop'],
          summary:
            'A2A JSON-RPC endpoint of one agent (message/send, message/stream, tasks/get, tasks/cancel, push configs)',
          operationId: 'callA2aAgent',
          params: agentParams,
          response: {
            200: z
              .unknown()
              .describe('A JSON-RPC response (or Server-Sent Events of them for message/stream)'),
            ...authErrors,
          },
        },
      },
      endpoint,
    );
    // The endpoint with or without the trailing slash its card names.
    app.post(
      '/a2a/:agent/',
      { config: { auth: 'read' }, schema: { hide: true, params: agentParams } },
      endpoint,
    );
  };
