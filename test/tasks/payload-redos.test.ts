/**
 * Task input schemas are written by clients, and so are their `pattern`s: a pattern that
 * backtracks (`^(a+)+$` against 40 "a" and a "!") must neither stall the server nor pass. The
 * server runs in its own process, so a stalled event loop shows here as a /health/live that never
 * answers rather than as a stalled test; every door that creates a task is tried (/v1, MCP, ZORA,
 * Soma), and a schema the linear-time engine cannot run is refused when the task type is created.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { stores } from '../helpers/server.ts';
import { kill, type ServerProcess, spawnServer } from '../runtime/durable-helpers.ts';
import { call, persistentStore } from '../runtime/helpers.ts';

const evil = '^(a+)+$';
/** Backtracking needs 2^40 steps for this: hours on JavaScript's engine. */
const hostile = `${'a'.repeat(40)}!`;
/** Long enough for any answer of a server that is not stalled; a stalled one never answers. */
const patience = 30_000;

const redosType = {
  name: 'redos',
  input_schema: {
    type: 'object',
    properties: { code: { type: 'string', pattern: evil } },
    patternProperties: { [evil]: { type: 'string' } },
    // A key that does not match the pattern is refused: matching every key runs the pattern too.
    additionalProperties: false,
  },
};

for (const store of stores) {
  describe(`task payload patterns on ${store}`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-redos-'));
    let server: ServerProcess;
    let drop = async () => {};
    let mcp: Client;
    const v1 = (method: string, route: string, body?: unknown) =>
      call(server.url, server.key, method, route, body);
    /** A request with a deadline: an answer, or the text "no answer". */
    const timed = async (route: string, init: RequestInit = {}) => {
      try {
        const res = await fetch(`${server.url}${route}`, {
          ...init,
          headers: {
            authorization: `Bearer ${server.key}`,
            'content-type': 'application/json',
            ...(init.headers as Record<string, string>),
          },
          signal: AbortSignal.timeout(patience),
        });
        return { status: res.status, body: await res.json() };
      } catch (err) {
        return { status: 0, body: `no answer: ${(err as Error).message}` };
      }
    };
    /** Sends `hostile` through `submit` while asking /health/live; both must answer. */
    const whileAlive = async <T>(submit: () => Promise<T>) => {
      const pending = submit();
      const live = await timed('/health/live');
      assert.equal(live.status, 200, `/health/live during a hostile payload: ${JSON.stringify(live.body)}`);
      return pending;
    };

    before(async () => {
      const s = await persistentStore(store, dir);
      drop = s.drop;
      server = await spawnServer(
        {
          store: s.config,
          server: { host: '127.0.0.1', port: 0, max_event_loop_delay_ms: 0 },
          credentials_file: path.join(dir, 'credentials.json'),
          compat: { zora: true, soma: true },
          tasks: { workers: 0 },
        },
        '',
      );
      const agent = await v1('POST', '/v1/agents', { name: 'checker', task_types: [redosType] });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      mcp = new Client({ name: 'agentry-test', version: '1.0.0' });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${server.key}` } },
        }),
      );
    });
    after(async () => {
      await mcp?.close();
      await kill(server);
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const doors: Array<[string, string, (payload: Record<string, unknown>) => Record<string, unknown>]> = [
      [
        'POST /v1/tasks',
        '/v1/tasks',
        (payload) => ({ agent_id: 'checker', task_type: 'redos', title: 't', payload }),
      ],
      [
        'ZORA POST /api/agents/tasks',
        '/api/agents/tasks',
        (payload) => ({ agent_id: 'checker', task_type: 'redos', title: 't', payload }),
      ],
      [
        'Soma POST /v1/delegation/task',
        '/v1/delegation/task',
        (payload) => ({ agent: 'checker', task_type: 'redos', payload }),
      ],
    ];
    for (const [door, route, body] of doors) {
      it(`${door}: a backtracking pattern answers 400 and the server stays live`, async () => {
        for (const payload of [{ code: hostile }, { [hostile]: 'x' }]) {
          const res = await whileAlive(() =>
            timed(route, { method: 'POST', body: JSON.stringify(body(payload)) }),
          );
          assert.equal(res.status, 400, JSON.stringify(res.body));
          assert.match(JSON.stringify(res.body), /does not match the input schema of task type redos/);
        }
        // What the pattern allows still passes.
        const ok = await timed(route, { method: 'POST', body: JSON.stringify(body({ code: 'aaaa' })) });
        assert.ok(ok.status >= 200 && ok.status < 300, `${ok.status} ${JSON.stringify(ok.body)}`);
      });
    }

    it('MCP create_task: a backtracking pattern is a tool error and the server stays live', async () => {
      const result = (await whileAlive(() =>
        mcp.callTool(
          {
            name: 'create_task',
            arguments: { agent: 'checker', task_type: 'redos', title: 't', payload: { code: hostile } },
          },
          undefined,
          { timeout: patience },
        ),
      )) as CallToolResult;
      assert.equal(result.isError, true);
      assert.match((result.content[0] as { text: string }).text, /does not match the input schema/);
    });

    it('refuses, with 400 at creation, a task type whose pattern the linear-time engine cannot run', async () => {
      for (const pattern of ['^(?=a)a+$', '(a)\\1', '([a-z']) {
        const res = await v1('POST', '/v1/agents', {
          name: `lookahead-${pattern.length}`,
          task_types: [{ name: 'bad', input_schema: { type: 'string', pattern } }],
        });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(JSON.stringify(res.body), /task_types\.0\.input_schema/);
        assert.match(JSON.stringify(res.body), /not a usable JSON Schema/);
      }
    });
  });
}
