import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const toolSchema = z.object({
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  source: z.enum(['builtin', 'mcp']),
  /** The MCP server's name, for `source: mcp`. */
  server: z.string().optional(),
  requires_approval: z.boolean(),
});

const serverStatus = z.object({
  id: z.uuid(),
  name: z.string(),
  transport: z.enum(['http', 'stdio']),
  status: z.enum(['ok', 'error']),
  tools: z.number().int(),
  error: z.string().optional(),
});

export const toolRoutes =
  ({ tools, mcp }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/tools',
      {
        schema: {
          tags: ['tools'],
          summary:
            "The tools agents can name: built-ins and the tenant's MCP tools (`<server>__<tool>`), with each MCP server's status",
          response: {
            200: z.object({ data: z.array(toolSchema), servers: z.array(serverStatus) }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const builtin = tools.names().map((name) => {
          const def = tools.get(name)!;
          return {
            name,
            description: def.description,
            parameters: def.parameters,
            source: 'builtin' as const,
            requires_approval: def.requires_approval === true,
          };
        });
        // Listing is a use: servers not yet connected in this process are connected now.
        const servers = await mcp.serverTools(principalOf(req).tenantId);
        const remote = servers.flatMap((s) =>
          s.tools.map((t) => ({
            name: t.name,
            description: t.description,
            parameters: t.parameters,
            source: 'mcp' as const,
            server: s.server.name,
            requires_approval: false,
          })),
        );
        return {
          data: [...builtin, ...remote],
          servers: servers.map((s) => ({
            id: s.server.id,
            name: s.server.name,
            transport: s.server.transport,
            status: s.error ? ('error' as const) : ('ok' as const),
            tools: s.tools.length,
            ...(s.error && { error: s.error }),
          })),
        };
      },
    );
  };
