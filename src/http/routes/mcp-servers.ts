import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../db/page.ts';
import { notFound } from '../../errors.ts';
import { createMcpServerBody, mcpServerSchema } from '../../tools/mcp/schema.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['tools'];
const errors = { ...authErrors, 409: errorResponse, 422: errorResponse };

export const mcpServerRoutes =
  ({ mcpServers, mcp }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/mcp-servers',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Register an MCP tool server (Streamable HTTP url, or a stdio command run in a sandbox)',
          body: createMcpServerBody,
          response: { 201: mcpServerSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await mcpServers.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.get(
      '/v1/mcp-servers',
      {
        schema: {
          tags,
          summary: "List the tenant's MCP servers (header values and secrets are never shown)",
          querystring: pageQuery,
          response: { 200: pageOf(mcpServerSchema), ...errors },
        },
      },
      async (req) => mcpServers.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/mcp-servers/:id',
      {
        schema: {
          tags,
          summary: 'Get an MCP server',
          params: idParams,
          response: { 200: mcpServerSchema, ...errors },
        },
      },
      async (req) => mcpServers.get(principalOf(req).tenantId, req.params.id),
    );

    app.post(
      '/v1/mcp-servers/:id/test',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Try the connection now: connect, list the tools, and say how long it took or why it failed',
          params: idParams,
          response: {
            200: z.object({
              ok: z.boolean(),
              latency_ms: z.number(),
              tools: z.array(z.string()),
              error: z.string().optional(),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const probe = await mcp.probe(principalOf(req).tenantId, req.params.id);
        if (!probe) throw notFound('mcp server', req.params.id);
        return probe;
      },
    );

    app.delete(
      '/v1/mcp-servers/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Remove an MCP server; its tools disappear from the registry',
          params: idParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await mcpServers.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
