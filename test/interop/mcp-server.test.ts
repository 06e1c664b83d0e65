/**
 * Agentry as an MCP server, driven by the official SDK's client over Streamable HTTP: tools
 * listed per key, an agent called with progress notifications, knowledge search, tasks, and a
 * read-only key refused where /v1 would refuse it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

async function connect(s: TestServer, key: string): Promise<Client> {
  const client = new Client({ name: 'agentry-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

const textOf = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

for (const store of stores) {
  describe(`MCP server on ${store}`, () => {
    let s: TestServer;
    let readKey: string;
    let client: Client;
    before(async () => {
      s = await startServer(store);
      await s.request('POST', '/v1/agents', {
        body: { name: 'Math Helper', description: 'does sums', tools: ['calculator'] },
      });
      readKey = (await s.request('POST', '/v1/keys', { body: { name: 'ro', scopes: ['read'] } })).body.secret;
      client = await connect(s, s.adminKey);
    });
    after(async () => {
      await client.close();
      await s.close();
    });

    it('lists each agent as a tool, beside knowledge search and tasks', async () => {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['agent_Math_Helper', 'create_task', 'get_task', 'search_knowledge']);
      const agent = tools.find((t) => t.name === 'agent_Math_Helper')!;
      assert.equal(agent.description, 'does sums');
      assert.deepEqual(Object.keys(agent.inputSchema.properties ?? {}).sort(), ['message', 'session_id']);
    });

    it('calls an agent and reports progress while it runs', async () => {
      const progress: Array<{ progress: number; message?: string }> = [];
      const result = await client.callTool(
        { name: 'agent_Math_Helper', arguments: { message: 'use the calculator tool for 12 * 7' } },
        undefined,
        { onprogress: (p) => progress.push(p) },
      );
      assert.equal(result.isError, false, textOf(result));
      assert.match(textOf(result), /84/);
      assert.ok(progress.length >= 2, JSON.stringify(progress));
      assert.ok(
        progress.some((p) => p.message === 'tool_call'),
        JSON.stringify(progress),
      );
      const session = /session_id: ([0-9a-f-]{36})/.exec(textOf(result))![1];
      const again = await client.callTool({
        name: 'agent_Math_Helper',
        arguments: { message: 'and 2+2?', session_id: session },
      });
      assert.match(textOf(again), new RegExp(session!));
    });

    it('creates and reads a task, and searches a knowledge base', async () => {
      const created = await client.callTool({
        name: 'create_task',
        arguments: { agent: 'math helper', title: 'sum it' },
      });
      const task = JSON.parse(textOf(created));
      assert.equal(task.title, 'sum it');
      const got = await client.callTool({ name: 'get_task', arguments: { task_id: task.id } });
      assert.equal(JSON.parse(textOf(got)).id, task.id);
      const kb = await s.request('POST', '/v1/knowledge-bases', { body: { name: 'notes' } });
      await s.request('POST', `/v1/knowledge-bases/${kb.body.id}/documents`, {
        body: { source: 'tides.md', content: 'The tide tables for Harwich are published weekly.' },
      });
      const hits = await client.callTool({
        name: 'search_knowledge',
        arguments: { knowledge_base: 'notes', query: 'Harwich tide' },
      });
      assert.match(textOf(hits), /Harwich/);
    });

    it('refuses a read-only key a call that needs write, and a request without a key', async () => {
      const ro = await connect(s, readKey);
      try {
        assert.ok((await ro.listTools()).tools.length > 0, 'reading is allowed');
        const denied = await ro.callTool({ name: 'agent_Math_Helper', arguments: { message: 'hi' } });
        assert.equal(denied.isError, true);
        assert.match(textOf(denied), /read-only/);
      } finally {
        await ro.close();
      }
      const anonymous = await fetch(`${s.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(anonymous.status, 401);
    });

    it("keeps another user's private agent and knowledge base out of reach", async () => {
      const keyFor = async (owner: string) =>
        (await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } })).body.secret as string;
      const alice = await keyFor('user:alice');
      const bob = await keyFor('user:bob');
      const agent = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'Alice Diary', visibility: 'private' },
      });
      assert.equal(agent.status, 201, agent.text);
      const kb = await s.request('POST', '/v1/knowledge-bases', {
        key: alice,
        body: { name: 'alice-notes', visibility: 'private' },
      });
      assert.equal(kb.status, 201, kb.text);
      const doc = { source: 'day.md', content: 'The secret word is marmalade.' };
      await s.request('POST', `/v1/knowledge-bases/${kb.body.id}/documents`, { key: alice, body: doc });

      const asBob = await connect(s, bob);
      const asAlice = await connect(s, alice);
      try {
        const names = (await asBob.listTools()).tools.map((t) => t.name);
        assert.ok(!names.includes('agent_Alice_Diary'), names.join());
        const unknown = await asBob.callTool({ name: 'agent_Alice_Diary', arguments: { message: 'hi' } });
        assert.equal(unknown.isError, true);
        for (const ref of [kb.body.id, 'alice-notes']) {
          const search = await asBob.callTool({
            name: 'search_knowledge',
            arguments: { knowledge_base: ref, query: 'secret word' },
          });
          assert.equal(search.isError, true, textOf(search));
          assert.doesNotMatch(textOf(search), /marmalade/);
          assert.match(textOf(search), /not found/);
        }
        const task = await asBob.callTool({
          name: 'create_task',
          arguments: { agent: 'alice diary', title: 'snoop' },
        });
        assert.equal(task.isError, true, textOf(task));

        assert.ok((await asAlice.listTools()).tools.some((t) => t.name === 'agent_Alice_Diary'));
        const mine = await asAlice.callTool({
          name: 'search_knowledge',
          arguments: { knowledge_base: 'alice-notes', query: 'secret word' },
        });
        assert.match(textOf(mine), /marmalade/);
        // A task of her private agent is hers too: Bob cannot read it by its id.
        const hers = await asAlice.callTool({
          name: 'create_task',
          arguments: { agent: 'alice diary', title: 'keep marmalade' },
        });
        assert.ok(!hers.isError, textOf(hers));
        const taskId = JSON.parse(textOf(hers)).id;
        const read = await asBob.callTool({ name: 'get_task', arguments: { task_id: taskId } });
        assert.equal(read.isError, true, textOf(read));
        assert.doesNotMatch(textOf(read), /marmalade/);
        const own = await asAlice.callTool({ name: 'get_task', arguments: { task_id: taskId } });
        assert.match(textOf(own), /marmalade/);
      } finally {
        await asBob.close();
        await asAlice.close();
      }
    });
  });
}
