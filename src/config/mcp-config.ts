import { z } from 'zod';

/**
 * MCP tool servers and the egress proxy (`mcp.*`, `egress.*`). Which domains a tenant may reach,
 * its search endpoint and the credentials the proxy injects are tenant policy (tenants.yaml
 * `network`); these are the process-wide settings.
 */
export const mcpConfig = z
  .object({
    /** How long a server's tool list is used before it is listed again. */
    tools_ttl_ms: z.coerce.number().int().min(0).default(60_000),
    /** Connecting (and the MCP handshake) must finish within this. */
    connect_timeout_ms: z.coerce.number().int().positive().default(10_000),
    /** A connection unused this long is closed (a stdio server's sandbox with it); the next use reconnects. */
    idle_ms: z.coerce.number().int().positive().default(300_000),
    /** One tool call's time limit. */
    call_timeout_ms: z.coerce.number().int().positive().default(30_000),
    /** Tool result text kept, in characters; beyond it the result is cut with a marker. */
    max_result_chars: z.coerce.number().int().min(1000).default(100_000),
    /** One answer of an HTTP server (a JSON body or one SSE stream), in bytes, at most: a larger one fails. */
    max_response_bytes: z.coerce
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    /**
     * Host paths shown read-only, at the same path, inside the sandboxes of stdio MCP servers: where
     * the servers' scripts and their node_modules live. Nothing else of the host is visible there.
     */
    stdio_paths: z.array(z.string().startsWith('/')).default([]),
    /** MCP servers a tenant may register. */
    max_servers_per_tenant: z.coerce.number().int().min(0).default(20),
  })
  .strict();

export const egressConfig = z
  .object({
    /** Folder of the per-tenant Unix sockets of the egress proxy; a private temporary folder when unset. */
    socket_dir: z.string().optional(),
    /** Largest upstream response passed through, in bytes (cut beyond). */
    max_response_bytes: z.coerce
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 * 1024),
    /** An upstream request's time limit. */
    timeout_ms: z.coerce.number().int().positive().default(20_000),
    /** Characters of page text `web_crawl` returns. */
    crawl_max_chars: z.coerce.number().int().min(100).default(20_000),
  })
  .strict();

export type McpConfig = z.infer<typeof mcpConfig>;
export type EgressConfig = z.infer<typeof egressConfig>;
