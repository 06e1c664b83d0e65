import { z } from 'zod';

/** A server's name: the tool-name prefix. No `_`, so `<server>__<tool>` splits one way only. */
const serverName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/,
    'letters, digits and "-" (no "_"), starting with a letter or digit, at most 32',
  );

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'an HTTP header name');
const description = z.string().max(2000).optional();

export const createMcpServerBody = z.discriminatedUnion('transport', [
  z
    .object({
      name: serverName,
      description,
      transport: z.literal('http'),
      /** The Streamable HTTP endpoint. */
      url: z.url({ protocol: /^https?$/ }).max(2048),
      /** Sent with every request; values are never shown again. */
      headers: z.record(headerName, z.string().max(8192)).optional(),
      /** Sent as `Authorization: Bearer <secret>`; never shown again. */
      secret: z.string().min(1).max(8192).optional(),
    })
    .strict(),
  z
    .object({
      name: serverName,
      description,
      transport: z.literal('stdio'),
      /** A program visible inside the sandbox (under /usr, or a path the operator shows: mcp.stdio_paths). */
      command: z
        .string()
        .min(1)
        .max(1024)
        .regex(/^[^\0\n]+$/, 'no NUL or newline'),
      args: z
        .array(
          z
            .string()
            .max(4096)
            .regex(/^[^\0]*$/, 'no NUL'),
        )
        .max(64)
        .optional(),
    })
    .strict(),
]);
export type CreateMcpServerInput = z.infer<typeof createMcpServerBody>;

/** A server as the API shows it: no header values, no secret. */
export const mcpServerSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  transport: z.enum(['http', 'stdio']),
  url: z.string().optional(),
  header_names: z.array(z.string()).optional(),
  has_secret: z.boolean().optional(),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type McpServer = z.infer<typeof mcpServerSchema>;

/** The row as stored. */
export interface McpServerRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  transport: 'http' | 'stdio';
  url: string | null;
  headers: Record<string, string>;
  secret: string | null;
  command: string | null;
  args: string[];
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

export function toMcpServer(row: McpServerRow): McpServer {
  const base = {
    id: row.id,
    name: row.name,
    description: row.description,
    transport: row.transport,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
  if (row.transport === 'http') {
    return {
      ...base,
      url: row.url ?? '',
      header_names: Object.keys(row.headers),
      has_secret: row.secret !== null,
    };
  }
  return { ...base, command: row.command ?? '', args: row.args };
}
