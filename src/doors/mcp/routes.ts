import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Agent } from '../../agents/schema.ts';
import { principalViewer } from '../../auth/ownership.ts';
import { hasScope, type Principal } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { actorOf, callerOf, principalOf } from '../../http/caller.ts';
import { authErrors, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { searchBody } from '../../memory/schema.ts';

/**
 * Agentry as an MCP server over Streamable HTTP at `/mcp` (the official SDK, stateless: one server
 * and transport per request, so any process of a fleet answers any call). The tools are what the
 * API key may use: one per agent of its tenant (`agent_<name>`: a message and an optional
 * session in, the answer out, with a progress notification per step while it runs), plus
 * `search_knowledge`, `create_task` and `get_task`. Listing needs a read key; calling an agent or
 * creating a task needs write, as the same operations do over /v1.
 */
const maxAgentTools = 200;

export function agentToolName(agent: Pick<Agent, 'name'>): string {
  return `agent_${agent.name.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

const text = (t: string, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: t }],
  isError,
});

function needWrite(p: Principal): CallToolResult | undefined {
  return hasScope(p, 'write')
    ? undefined
    : text('this API key is read-only: calling this tool needs the write scope', true);
}

async function build(services: Services, req: FastifyRequest): Promise<McpServer> {
  const p = principalOf(req);
  // The SDK's server (and its HTTP transport, below) load with the first MCP request, not at start.
  const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
  const server = new McpServer({ name: 'agentry', version: services.version });
  const page = await services.agents.list(
    p.tenantId,
    { limit: maxAgentTools, offset: 0 },
    principalViewer(p),
  );
  for (const agent of page.data) {
    server.registerTool(
      agentToolName(agent),
      {
        title: agent.name,
        description: agent.description || `Ask the Agentry agent ${agent.name}.`,
        inputSchema: {
          message: z.string().min(1).max(200_000).describe('What to ask the agent'),
          session_id: z.uuid().optional().describe('Continue this session (from an earlier answer)'),
        },
      },
      async ({ message, session_id }, extra) => {
        const refused = needWrite(p);
        if (refused) return refused;
        const handle = await services.runtime.run(callerOf(req), agent.id, {
          message,
          session_id,
          stream: false,
          multitask: 'enqueue',
          on_disconnect: 'continue',
        });
        const token = extra._meta?.progressToken;
        if (token !== undefined) {
          // One progress notification per step of the run, until it ends.
          let step = 0;
          for await (const e of services.runtime.follow(handle.runId, 0, extra.signal)) {
            if (
              e.type === 'tool_call' ||
              e.type === 'tool_result' ||
              e.type === 'text' ||
              e.type === 'result'
            ) {
              step++;
              await extra.sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: step, message: e.type },
              });
            }
            if (e.type === 'session_end') break;
          }
        }
        const r = await handle.result();
        const ids = `\n\n(session_id: ${handle.sessionId}, run_id: ${handle.runId})`;
        if (r.status === 'completed') return text(`${r.text}${ids}`);
        if (r.status === 'input_required') return text(`the run waits for a person's approval${ids}`, true);
        return text(`the run ${r.status}: ${r.error.message}${ids}`, true);
      },
    );
  }

  server.registerTool(
    'search_knowledge',
    {
      description: 'Search one of the tenant knowledge bases (by id or name); returns the best passages.',
      inputSchema: {
        knowledge_base: z.string().min(1).max(200),
        query: z.string().min(1).max(4000),
        top_k: z.number().int().min(1).max(50).optional(),
      },
    },
    async ({ knowledge_base, query, top_k }) => {
      // Another user's private knowledge base is not found, as over /v1.
      await services.memory.knowledgeBases.assertVisible(p.tenantId, knowledge_base, principalViewer(p));
      const result = await services.memory.search(
        p.tenantId,
        knowledge_base,
        searchBody.parse({ query, top_k }),
        {
          tenantId: p.tenantId,
          tenantName: p.tenantName,
          requestId: req.id,
        },
      );
      return text(JSON.stringify(result));
    },
  );

  server.registerTool(
    'create_task',
    {
      description: 'Queue a task for an agent (by id or name); poll it with get_task.',
      inputSchema: {
        agent: z.string().min(1).max(200),
        task_type: z.string().min(1).max(64).default('default'),
        title: z.string().min(1).max(500),
        payload: z.record(z.string(), z.unknown()).optional(),
      },
    },
    async ({ agent, task_type, title, payload }) => {
      const refused = needWrite(p);
      if (refused) return refused;
      const target = await services.agents.resolve(p.tenantId, agent, principalViewer(p));
      const { task } = await services.tasks.create(
        p.tenantId,
        { agent_id: target.id, task_type, title, payload },
        actorOf(req),
      );
      return text(JSON.stringify(task));
    },
  );

  server.registerTool(
    'get_task',
    {
      description: 'Read a task: its status and, once finished, its result.',
      inputSchema: { task_id: z.uuid() },
    },
    async ({ task_id }) =>
      text(JSON.stringify(await services.tasks.get(p.tenantId, task_id, principalViewer(p)))),
  );
  return server;
}

export const mcpEndpointRoutes =
  (services: Services): FastifyPluginAsync =>
  async (fastify) => {
    // Errors inside a tool reach the client as a tool error; these are the client's own mistakes
    // (an unknown knowledge base, a task of another tenant): say what, not "internal error".
    const serve = async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
      const server = await build(services, req);
      const { StreamableHTTPServerTransport } = await import(
        '@modelcontextprotocol/sdk/server/streamableHttp.js'
      );
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
      });
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      // The transport writes the raw response: carry over what the hooks set (X-Request-Id,
      // X-Trace-ID), which Fastify would have written with its own reply.
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
      }
      reply.hijack();
      await transport.handleRequest(req.raw, reply.raw, req.body);
    };
    // RFC 6750 §3 and the MCP authorization spec: a 401 names the Bearer scheme, so a client knows
    // to send a key instead of guessing at OAuth. Agentry is no OAuth resource server (API keys,
    // and JWTs of a configured issuer, are its credentials), so no resource metadata is named.
    fastify.addHook('onSend', async (req, reply, payload) => {
      if (reply.statusCode === 401) {
        // Without credentials the challenge names no error (RFC 6750 §3.1); with bad ones, invalid_token.
        const sent = req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined;
        reply.header(
          'www-authenticate',
          sent
            ? 'Bearer realm="agentry", error="invalid_token", error_description="the API key or token was not accepted"'
            : 'Bearer realm="agentry", error_description="send an Agentry API key: Authorization: Bearer agk_..."',
        );
      }
      return payload;
    });
    fastify.post(
      '/mcp',
      {
        config: { auth: 'read' },
        schema: {
          tags: ['interop'],
          summary: 'MCP server (Streamable HTTP): agents, knowledge search and tasks as tools',
          operationId: 'handleMcp',
          response: { 200: wireObject('A JSON-RPC response (or Server-Sent Events of them)'), ...authErrors },
        },
      },
      serve,
    );
    // Stateless: no server-initiated stream and no session to end.
    for (const method of ['GET', 'DELETE'] as const) {
      fastify.route({
        method,
        url: '/mcp',
        config: { auth: 'read' },
        schema: {
          tags: ['interop'],
          summary: 'MCP: not offered by this stateless server (405)',
          operationId: method === 'GET' ? 'openMcpStream' : 'endMcpSession',
          // Not operations a client can use (they always answer 405, as MCP asks of a server without
          // them): left out of the OpenAPI document, where every operation has a success answer.
          hide: true,
        },
        handler: async () => {
          throw new AppError(
            'method_not_allowed',
            `${method} /mcp is not offered: this MCP server is stateless; POST JSON-RPC requests`,
          );
        },
      });
    }
  };
