import type { TenantPolicy } from '../../config/tenant-policy.ts';
import type { Db } from '../../db/db.ts';
import { isUuid, newId } from '../../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../../db/page.ts';
import { AppError, isUniqueViolation, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { assertOutboundUrl } from '../../net/ssrf.ts';
import { type CreateMcpServerInput, type McpServer, type McpServerRow, toMcpServer } from './schema.ts';

export interface McpServerStoreDeps {
  db: Db;
  /** The tenant's policy in force (tenants.yaml): private MCP URLs need `network.allow_private_egress`. */
  policyFor: (tenantId: string) => Promise<TenantPolicy>;
  maxPerTenant: number;
  /** Called after a server is removed, so this process drops its connection at once. */
  onDelete?: (row: McpServerRow) => void;
}

/** The MCP servers tenants register: stored rows, journaled changes, SSRF guard on HTTP URLs. */
export class McpServerStore {
  constructor(private readonly deps: McpServerStoreDeps) {}

  async create(tenantId: string, input: CreateMcpServerInput, who: Actor): Promise<McpServer> {
    if (input.transport === 'http') {
      const policy = await this.deps.policyFor(tenantId);
      assertOutboundUrl(input.url, policy.network.allow_private_egress, 'url');
    }
    const id = newId();
    try {
      return await this.deps.db.transaction(async (tx) => {
        const [{ n }] = (await tx.query<{ n: number }>(
          'select count(*)::int as n from mcp_servers where tenant_id = $1',
          [tenantId],
        )) as [{ n: number }];
        if (n >= this.deps.maxPerTenant) {
          throw new AppError(
            'unprocessable',
            `a tenant may register at most ${this.deps.maxPerTenant} MCP servers`,
          );
        }
        const [row] = await tx.query<McpServerRow>(
          `insert into mcp_servers (id, tenant_id, name, description, transport, url, headers, secret, command, args)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10::jsonb) returning *`,
          [
            id,
            tenantId,
            input.name,
            input.description ?? '',
            input.transport,
            input.transport === 'http' ? input.url : null,
            JSON.stringify(input.transport === 'http' ? (input.headers ?? {}) : {}),
            input.transport === 'http' ? (input.secret ?? null) : null,
            input.transport === 'stdio' ? input.command : null,
            JSON.stringify(input.transport === 'stdio' ? (input.args ?? []) : []),
          ],
        );
        await writeJournal(tx, who, {
          action: 'mcp_server.create',
          target: id,
          data: { name: input.name, transport: input.transport },
        });
        return toMcpServer(row!);
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('conflict', `an MCP server named ${input.name} already exists`);
      throw err;
    }
  }

  /** One page of the tenant's servers, by name. */
  list(tenantId: string, q: PageQuery): Promise<Page<McpServer>> {
    return listPage(
      this.deps.db,
      q,
      { select: '*', from: 'from mcp_servers where tenant_id = $1', orderBy: 'name, id', params: [tenantId] },
      toMcpServer,
    );
  }

  /** The tenant's rows with their connection details (secrets included): for the connection manager only. */
  rows(tenantId: string): Promise<McpServerRow[]> {
    return this.deps.db.query<McpServerRow>('select * from mcp_servers where tenant_id = $1 order by name', [
      tenantId,
    ]);
  }

  async get(tenantId: string, id: string): Promise<McpServer> {
    if (!isUuid(id)) throw notFound('MCP server', id);
    const [row] = await this.deps.db.query<McpServerRow>(
      'select * from mcp_servers where tenant_id = $1 and id = $2',
      [tenantId, id],
    );
    if (!row) throw notFound('MCP server', id);
    return toMcpServer(row);
  }

  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    if (!isUuid(id)) throw notFound('MCP server', id);
    const row = await this.deps.db.transaction(async (tx) => {
      const [gone] = await tx.query<McpServerRow>(
        'delete from mcp_servers where tenant_id = $1 and id = $2 returning *',
        [tenantId, id],
      );
      if (!gone) throw notFound('MCP server', id);
      await writeJournal(tx, who, { action: 'mcp_server.delete', target: id, data: { name: gone.name } });
      return gone;
    });
    this.deps.onDelete?.(row);
  }
}
