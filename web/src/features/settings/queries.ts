import { PAGE_SIZE } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { defineQuery } from '../../lib/query';
import type { Ok } from '../../lib/types';

declare module '../../lib/query' {
  interface QueryShapes {
    'keys/page': Ok<'/v1/keys'>;
    'tenants/page': Ok<'/v1/tenants'>;
    'mcp-servers/page': Ok<'/v1/mcp-servers'>;
    'console-sessions/page': Ok<'/v1/console-sessions'>;
  }
}

export const keyPage = defineQuery('keys/page', async (offset: number) =>
  unwrap(await api.GET('/v1/keys', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const tenantPage = defineQuery('tenants/page', async (offset: number) =>
  unwrap(await api.GET('/v1/tenants', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const mcpServerPage = defineQuery('mcp-servers/page', async (offset: number) =>
  unwrap(await api.GET('/v1/mcp-servers', { params: { query: { limit: PAGE_SIZE, offset } } })),
);

export const consoleSessionPage = defineQuery('console-sessions/page', async (offset: number) =>
  unwrap(await api.GET('/v1/console-sessions', { params: { query: { limit: PAGE_SIZE, offset } } })),
);
