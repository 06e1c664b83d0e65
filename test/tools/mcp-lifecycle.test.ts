import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs fixture, untyped
import { startStatefulMcpServer } from '../fixtures/mcp/stateful-http-server.mjs';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

interface Fixture {
  url: string;
  counts: { initializes: number; lists: number; streamsOpened: number; streamsClosed: number };
  addTool(): void;
  close(): Promise<void>;
}

/** A server whose MCP settings are `mcp`, with the stateful fixture registered as `st`. */
async function setup(mcp: Record<string, number>): Promise<{ s: TestServer; fixture: Fixture }> {
  const fixture: Fixture = await startStatefulMcpServer();
  const s = await startServer('pglite', {
    sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 }, agent: { size: 0 } } },
    mcp,
  });
  // The fixture is on loopback: the default tenant may use private MCP addresses.
  const me = await s.app.services.tenants.find(s.app.defaultTenantId);
  s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
  const res = await s.request('POST', '/v1/mcp-servers', {
    body: { name: 'st', transport: 'http', url: fixture.url },
  });
  assert.equal(res.status, 201, res.text);
  return { s, fixture };
}

const toolNames = async (s: TestServer): Promise<string[]> => {
  const res = await s.request('GET', '/v1/tools');
  assert.equal(res.status, 200, res.text);
  return res.body.data.map((t: { name: string }) => t.name).filter((n: string) => n.startsWith('st__'));
};

// Connection lifecycle is about the process, not the store: PGlite is enough.
describe('MCP connections: tool list refresh', () => {
  let s: TestServer;
  let fixture: Fixture;
  before(async () => {
    ({ s, fixture } = await setup({ tools_ttl_ms: 500 }));
  });
  after(async () => {
    await s.close();
    await fixture.close();
  });

  it('a tool added to the server after the first listing appears once the list is refreshed, on the same connection', async () => {
    assert.ok(!(await toolNames(s)).includes('st__late'));
    // Counted from here: how many listings came before (the server's own, and one more if
    // tools_ttl_ms passed on the way here on a slow machine) is the machine's speed.
    const listsBefore = fixture.counts.lists;
    fixture.addTool();

    // Served from the cache until tools_ttl_ms passes; then listed again, and `late` shows.
    const names = await eventually(
      async () => {
        const names = await toolNames(s);
        return names.includes('st__late') ? names : undefined;
      },
      20_000,
      'the added tool to be listed',
    );
    assert.ok(fixture.counts.lists > listsBefore, 'the new tool came from a new tools/list');
    assert.ok(names.includes('st__shout'), 'the other tools are still there');
    assert.equal(fixture.counts.initializes, 1, 'the refresh reused the open connection');

    // And it can be called.
    const out = await s.app.services.mcp.execute(
      s.app.defaultTenantId,
      'st__late',
      '{"n":21}',
      new AbortController().signal,
    );
    assert.deepEqual(out, { ok: true, output: '42' });
    assert.equal(fixture.counts.initializes, 1);
  });
});

describe('MCP connections: idle close', () => {
  let s: TestServer;
  let fixture: Fixture;
  before(async () => {
    // A long tool-list TTL: nothing but the idle timer touches the connection between uses.
    ({ s, fixture } = await setup({ tools_ttl_ms: 600_000, idle_ms: 1_000 }));
  });
  after(async () => {
    await s.close();
    await fixture.close();
  });

  const shout = () =>
    s.app.services.mcp.execute(
      s.app.defaultTenantId,
      'st__shout',
      '{"text":"hi"}',
      new AbortController().signal,
    );

  it('closes a connection unused for idle_ms, and the next use reconnects', async () => {
    assert.deepEqual(await shout(), { ok: true, output: 'stateful:HI' });
    assert.equal(fixture.counts.initializes, 1);
    // The client opened its SSE stream with the connection; idle_ms later the client closes it.
    const closed = async () => {
      const { streamsOpened, streamsClosed } = fixture.counts;
      return streamsOpened >= 1 && streamsClosed === streamsOpened ? true : undefined;
    };
    await eventually(closed, 20_000, 'the idle connection to close');
    assert.equal(fixture.counts.streamsOpened, 1);
    assert.equal(fixture.counts.initializes, 1);

    assert.deepEqual(await shout(), { ok: true, output: 'stateful:HI' });
    assert.equal(fixture.counts.initializes, 2, 'a new connection after the idle close');
    await eventually(
      async () => (fixture.counts.streamsOpened === 2 ? closed() : undefined),
      20_000,
      'the second connection to close when idle too',
    );
  });

  it('keeps a connection open through a call longer than idle_ms: the idle clock starts when the use ends', async () => {
    const before = fixture.counts.initializes;
    const out = await s.app.services.mcp.execute(
      s.app.defaultTenantId,
      'st__sleep',
      '{"ms":2000}',
      new AbortController().signal,
    );
    assert.deepEqual(out, { ok: true, output: 'awake' });
    assert.equal(fixture.counts.initializes, before + 1, 'one connection served the whole call');
  });
});
