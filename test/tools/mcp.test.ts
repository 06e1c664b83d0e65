import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTenant } from '../auth/fixtures.ts';
// @ts-expect-error: a plain .mjs fixture (the same SDK server the stdio fixture runs), untyped
import { startHttpMcpServer } from '../fixtures/mcp/http-server.mjs';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, sse } from '../runtime/helpers.ts';

const fixtures = fileURLToPath(new URL('../fixtures/mcp/', import.meta.url));
const nodeModules = fileURLToPath(new URL('../../node_modules/', import.meta.url));

interface FixtureServer {
  url: string;
  seen: Array<{ authorization?: string; test?: string }>;
  close(): Promise<void>;
}

for (const store of stores) {
  describe(`MCP tool servers on ${store}`, () => {
    let s: TestServer;
    let fixture: FixtureServer;
    let other: { id: string; adminKey: string };

    /** One chat turn (stream:false) and the run's steps. */
    const chat = async (agentId: string, message: string, key = s.adminKey) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, {
        body: { message, stream: false },
        key,
      });
      assert.equal(res.status, 200, res.text);
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`, { key });
      assert.equal(run.status, 200, run.text);
      return { answer: res.body, steps: run.body.steps as Array<Record<string, unknown>> };
    };

    before(async () => {
      fixture = await startHttpMcpServer();
      s = await startServer(store, {
        // The stdio server runs in a bwrap sandbox: it needs bubblewrap, not the warm pool.
        sandbox: {
          pools: { bwrap: { size: 1 }, quickjs: { size: 0 } },
          breaker: { failure_threshold: 2, reset_ms: 60_000 },
        },
        mcp: { stdio_paths: [fixtures, nodeModules], call_timeout_ms: 2_000 },
      });
      // Loopback fixtures: the default tenant may use private MCP addresses; other tenants may not.
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      other = await createTenant(s, 'mcp-other');
    });
    after(async () => {
      await s.close();
      await fixture.close();
    });

    it('registers a Streamable HTTP server and lists its tools, namespaced, without showing its secrets', async () => {
      const res = await s.request('POST', '/v1/mcp-servers', {
        body: {
          name: 'web1',
          transport: 'http',
          url: fixture.url,
          headers: { 'X-Test': 'header-value' },
          secret: 'mcp-secret-123',
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.has_secret, true);
      assert.deepEqual(res.body.header_names, ['X-Test']);
      assert.ok(!res.text.includes('mcp-secret-123') && !res.text.includes('header-value'));
      const list = await s.request('GET', '/v1/mcp-servers');
      assert.deepEqual(
        list.body.data.map((x: { name: string }) => x.name),
        ['web1'],
      );
      assert.ok(!list.text.includes('mcp-secret-123'));

      const tools = await s.request('GET', '/v1/tools');
      assert.equal(tools.status, 200, tools.text);
      const shout = tools.body.data.find((t: { name: string }) => t.name === 'web1__shout');
      assert.equal(shout.source, 'mcp');
      assert.equal(shout.server, 'web1');
      assert.equal(shout.description, 'Upper-cases the text.');
      assert.deepEqual(shout.parameters.required, ['text']);
      const names = tools.body.data.map((t: { name: string }) => t.name);
      assert.ok(names.includes('calculator') && names.includes('web_crawl'), names.join(','));
      assert.deepEqual(tools.body.servers, [
        { id: res.body.id, name: 'web1', transport: 'http', status: 'ok', tools: 6 },
      ]);
      // The fixture saw the configured header and the secret as a bearer token.
      assert.ok(
        fixture.seen.some((r) => r.authorization === 'Bearer mcp-secret-123' && r.test === 'header-value'),
      );
    });

    it('an agent that names an HTTP server tool calls it through chat; the result is a run step', async () => {
      const agent = await createAgent(s, { name: 'mcp-http-user', tools: ['web1__shout', 'web1__add'] });
      const { answer, steps } = await chat(agent.id, 'use the web1__shout tool on "hello"');
      assert.equal(answer.response.text, 'The web1__shout tool returned: http:HELLO');
      const tool = steps.find((st) => st.kind === 'tool')!;
      assert.equal(tool.name, 'web1__shout');
      assert.deepEqual(tool.input, { text: 'hello' });
      assert.equal(tool.output, 'http:HELLO');
      // The run's system event names the tools offered, MCP ones included.
      const read = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'hello' },
      });
      const system = read.events.find((e) => e.event === 'system')!.data;
      assert.deepEqual(system.tools, ['web1__shout', 'web1__add']);
      assert.equal(system.unknown_tools, undefined);
    });

    it('runs a stdio server inside the sandbox: no network, uid 65534, no server environment', async () => {
      const res = await s.request('POST', '/v1/mcp-servers', {
        body: {
          name: 'local',
          transport: 'stdio',
          command: 'node',
          args: [path.join(fixtures, 'stdio-server.mjs')],
        },
      });
      assert.equal(res.status, 201, res.text);
      const agent = await createAgent(s, {
        name: 'mcp-stdio-user',
        tools: ['local__shout', 'local__whoami'],
      });
      const { answer, steps } = await chat(agent.id, 'use the local__shout tool on "quiet"');
      assert.equal(answer.response.text, 'The local__shout tool returned: stdio:QUIET');
      assert.equal(steps.find((st) => st.kind === 'tool')!.output, 'stdio:QUIET');

      const who = await chat(agent.id, 'use the local__whoami tool');
      const info = JSON.parse(String(who.steps.find((st) => st.kind === 'tool')!.output));
      assert.equal(info.uid, 65534);
      assert.equal(info.hostname, 'sandbox');
      assert.deepEqual(
        info.interfaces.filter((i: string) => i !== 'lo'),
        [],
      );
      // Only what the sandbox sets (and bash adds): nothing of the server's environment.
      assert.deepEqual(Object.keys(info.env).sort(), ['HOME', 'LANG', 'PATH', 'PWD', 'SHLVL', 'TMPDIR']);
    });

    it('reports a tool that fails as a tool error the model sees, and an unknown tool of a known server', async () => {
      const agent = await createAgent(s, { name: 'mcp-fail-user', tools: ['web1__fail'] });
      const { answer, steps } = await chat(agent.id, 'use the web1__fail tool');
      const tool = steps.find((st) => st.kind === 'tool')!;
      assert.equal(tool.error, 'the fail tool failed on purpose');
      assert.match(answer.response.text, /the fail tool failed on purpose/);
      const ctx = { signal: new AbortController().signal, tenantId: s.app.defaultTenantId };
      const out = await s.app.services.tools.execute('web1__nope', '{}', ctx as never);
      assert.deepEqual(out, { ok: false, error: 'MCP server web1 has no tool nope' });
    });

    it('starts a crashed stdio server again on the next call, and reports a call past its time limit', async () => {
      const ctx = { signal: new AbortController().signal, tenantId: s.app.defaultTenantId };
      const run = (tool: string, args: unknown) =>
        s.app.services.tools.execute(tool, JSON.stringify(args), ctx as never);
      const crashed = await run('local__crash', {});
      assert.equal(crashed.ok, false);
      assert.match((crashed as { error: string }).error, /^MCP server local is unreachable: .*closed/i);
      assert.deepEqual(await run('local__shout', { text: 'back' }), { ok: true, output: 'stdio:BACK' });
      const slow = await run('web1__sleep', { ms: 10_000 });
      assert.deepEqual(slow, { ok: false, error: 'MCP server web1 did not answer within 2000 ms' });
      assert.deepEqual(await run('web1__add', { a: 2, b: 3 }), { ok: true, output: '5' });
    });

    it('refuses bad registrations with 400 and a taken name with 409', async () => {
      const bad = [
        { name: 'has_underscore', transport: 'http', url: fixture.url },
        { name: 'nourl', transport: 'http' },
        { name: 'ftp', transport: 'http', url: 'ftp://example.com/mcp' },
        { name: 'weird', transport: 'carrier-pigeon', url: fixture.url },
        { name: 'nocmd', transport: 'stdio' },
        { name: 'mixed', transport: 'stdio', command: 'node', url: fixture.url },
        { name: 'x'.repeat(40), transport: 'http', url: fixture.url },
        { name: 'hdr', transport: 'http', url: fixture.url, headers: { 'Bad Header': 'x' } },
      ];
      for (const body of bad) {
        const res = await s.request('POST', '/v1/mcp-servers', { body });
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
        assert.equal(res.body.error.code, 'validation_error');
      }
      const taken = await s.request('POST', '/v1/mcp-servers', {
        body: { name: 'web1', transport: 'http', url: fixture.url },
      });
      assert.equal(taken.status, 409, taken.text);
      // Without allow_private_egress, loopback and metadata addresses are refused at registration.
      const guarded = await s.request('POST', '/v1/mcp-servers', {
        body: { name: 'loop', transport: 'http', url: 'http://127.0.0.1:5432/' },
        key: other.adminKey,
      });
      assert.equal(guarded.status, 400, guarded.text);
      assert.match(guarded.body.error.message, /not a public address/);
    });

    it('checks the address at each request: a policy withdrawn after connecting refuses the server', async () => {
      // web1 is connected (earlier tests listed and called its tools); its tool list is cached.
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: {} });
      try {
        const ctx = { signal: new AbortController().signal, tenantId: s.app.defaultTenantId };
        const out = await s.app.services.tools.execute('web1__shout', '{"text":"hi"}', ctx as never);
        assert.equal(out.ok, false, JSON.stringify(out));
        assert.match((out as { error: string }).error, /address 127\.0\.0\.1 is not a public address/);
      } finally {
        s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      }
    });

    it('answers an unreachable server with a clear tool error and its status in GET /v1/tools, never a 500', async () => {
      const dead = await s.request('POST', '/v1/mcp-servers', {
        body: { name: 'dead', transport: 'http', url: 'http://127.0.0.1:9/mcp' },
      });
      assert.equal(dead.status, 201, dead.text);
      const tools = await s.request('GET', '/v1/tools');
      assert.equal(tools.status, 200, tools.text);
      const status = tools.body.servers.find((x: { name: string }) => x.name === 'dead');
      assert.equal(status.status, 'error');
      assert.match(status.error, /MCP server dead is unreachable/);
      const ctx = { signal: new AbortController().signal, tenantId: s.app.defaultTenantId };
      const out = await s.app.services.tools.execute('dead__anything', '{}', ctx as never);
      assert.equal(out.ok, false);
      assert.match((out as { error: string }).error, /MCP server dead is unreachable/);
      // The second failure in a row opens the tool's breaker (threshold 2 here): refused at once.
      await s.app.services.tools.execute('dead__anything', '{}', ctx as never);
      const disabled = await s.app.services.tools.execute('dead__anything', '{}', ctx as never);
      assert.match(
        (disabled as { error: string }).error,
        /^dead__anything is temporarily disabled after repeated failures/,
      );
      // /health shows the MCP component degraded (amber, still 200), naming the open breaker.
      const health = await s.request('GET', '/health');
      assert.equal(health.status, 200, health.text);
      assert.equal(health.body.components.mcp.status, 'degraded');
      assert.equal(health.body.overall, 'amber');
      assert.ok(
        health.body.components.mcp.detail.open_breakers.some((b: string) => b.includes('dead__anything')),
        health.text,
      );
      // And per server: `mcp:dead` is down (red: unreachable) with why, `mcp:web1` (reachable) stays ok.
      assert.equal(health.body.components['mcp:dead'].status, 'down', health.text);
      const deadDetail = health.body.components['mcp:dead'].detail;
      assert.equal(deadDetail.transport, 'http');
      assert.deepEqual(deadDetail.open_breakers, ['dead__anything']);
      assert.match(deadDetail.reason, /^unreachable: MCP server dead is unreachable/);
      assert.equal(health.body.components['mcp:web1'].status, 'ok', health.text);
      // An agent naming its tools still chats: the tools are not offered, and the system event says so.
      const agent = await createAgent(s, { name: 'mcp-dead-user', tools: ['dead__anything'] });
      const { answer } = await chat(agent.id, 'use the dead__anything tool');
      assert.equal(answer.status, 'success');
    });

    it('keeps tenants apart: another tenant neither sees nor calls these servers', async () => {
      const mine = await s.request('GET', '/v1/mcp-servers');
      const id = mine.body.data.find((x: { name: string }) => x.name === 'web1').id;
      const list = await s.request('GET', '/v1/mcp-servers', { key: other.adminKey });
      assert.deepEqual(list.body.data, []);
      assert.equal((await s.request('GET', `/v1/mcp-servers/${id}`, { key: other.adminKey })).status, 404);
      assert.equal((await s.request('DELETE', `/v1/mcp-servers/${id}`, { key: other.adminKey })).status, 404);
      const tools = await s.request('GET', '/v1/tools', { key: other.adminKey });
      assert.ok(!tools.body.data.some((t: { name: string }) => t.name.startsWith('web1__')));
      assert.deepEqual(tools.body.servers, []);
      const ctx = { signal: new AbortController().signal, tenantId: other.id };
      const out = await s.app.services.tools.execute('web1__shout', '{"text":"x"}', ctx as never);
      assert.deepEqual(out, { ok: false, error: 'unknown tool: web1__shout' });
      const agent = await createAgent(
        { ...s, request: (m, p, o) => s.request(m, p, { ...o, key: other.adminKey }) },
        { name: 'thief', tools: ['web1__shout'] },
      );
      const { answer, steps } = await chat(agent.id, 'use the web1__shout tool on "steal"', other.adminKey);
      assert.equal(answer.response.text, 'You said: use the web1__shout tool on "steal"');
      assert.ok(!steps.some((st) => st.kind === 'tool'));
    });

    it('removes a server and its tools', async () => {
      const mine = await s.request('GET', '/v1/mcp-servers');
      const id = mine.body.data.find((x: { name: string }) => x.name === 'web1').id;
      assert.equal((await s.request('DELETE', `/v1/mcp-servers/${id}`)).status, 204);
      const tools = await s.request('GET', '/v1/tools');
      assert.ok(!tools.body.data.some((t: { name: string }) => t.name.startsWith('web1__')));
      assert.equal((await s.request('GET', `/v1/mcp-servers/${id}`)).status, 404);
    });
  });
}
