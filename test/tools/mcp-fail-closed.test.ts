import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { mcpConfig } from '../../src/config/mcp-config.ts';
import { sandboxConfig } from '../../src/config/sandbox-config.ts';
import { HealthRegistry } from '../../src/observability/health.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { McpConnection, McpUnavailableError } from '../../src/tools/mcp/connection.ts';
import type { McpServerRow } from '../../src/tools/mcp/schema.ts';
import { SandboxService } from '../../src/tools/sandbox/sandbox.ts';

const row: McpServerRow = {
  id: '00000000-0000-7000-8000-000000000001',
  tenant_id: '00000000-0000-7000-8000-000000000002',
  name: 'local',
  description: '',
  transport: 'stdio',
  url: null,
  headers: {},
  secret: null,
  command: 'node',
  args: ['/nonexistent/server.mjs'],
  created_at: new Date(),
  updated_at: new Date(),
};

// A machine without bubblewrap: stdio MCP servers must not start at all, and say why.
describe('stdio MCP servers without a sandbox', () => {
  const sandboxes = new SandboxService({
    config: sandboxConfig.parse({ bwrap_path: '/nonexistent/bwrap', pools: { quickjs: { size: 0 } } }),
    log: createLogger('silent'),
    health: new HealthRegistry(),
    registry: new Registry(),
  });
  before(() => sandboxes.start());
  after(() => sandboxes.stop());

  it('fail closed with the reason and how to install bubblewrap, never running on the host', async () => {
    const conn = new McpConnection(row, {
      config: mcpConfig.parse({}),
      sandboxes,
      allowPrivate: async () => false,
      version: 'test',
      egressBind: async () => undefined,
    });
    await assert.rejects(conn.tools(), (err: Error) => {
      assert.ok(err instanceof McpUnavailableError);
      assert.match(
        err.message,
        /^MCP server local: mcp:local is not available: bubblewrap \(bwrap\) is not installed: install bubblewrap/,
      );
      return true;
    });
    await conn.close();
  });
});
