/**
 * isA's contract (isa-agent-creation.md). Its "E2E Test Commands" section is kept verbatim in
 * fixtures/isa-e2e.sh and run command by command with curl, changing only what the document
 * allows: host and port (every service of isA is this one server), the credential (the pool stats
 * call gets the same `user-id` header as the others), and `<agent_id>`, which the document says to
 * take from step 3. The server runs in dev auth mode, where isA's `user-id` header is accepted, with
 * the document's model id served by the mock provider (an operator's alias, not a change to the
 * commands).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** The script's commands: comments dropped, backslash continuations joined. */
function commands(script: string): string[] {
  return script
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('curl '));
}

for (const store of stores) {
  describe(`isA contract on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        auth: { mode: 'dev' },
        compat: { isa: true },
        models: { aliases: { 'claude-sonnet-4-5-20250929': 'mock/default' } },
        sandbox: { pools: { bwrap: { size: 1 }, quickjs: { size: 0 } } },
      });
    });
    after(async () => {
      await s.close();
    });

    it('runs the E2E Test Commands section verbatim', async (t) => {
      const script = readFileSync(new URL('./fixtures/isa-e2e.sh', import.meta.url), 'utf8');
      const list = commands(script);
      assert.equal(list.length, 12, list.join('\n'));
      let agentId = '';
      const outputs: string[] = [];
      const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp('/tmp/isa-e2e-'));
      for (const original of list) {
        let cmd = original
          .replace(/http:\/\/localhost:(8080|8090|8086|8082)/g, s.url)
          .replaceAll('<agent_id>', agentId);
        if (cmd.includes('/api/v1/pools/')) cmd += ' -H "user-id: test-user"';
        // -s and -w only report the status; the request is the document's.
        const { stdout } = await run('bash', ['-c', `${cmd} -s -w '\\n%{http_code}'`], { cwd: dir });
        const status = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
        const body = stdout.slice(0, stdout.lastIndexOf('\n'));
        t.diagnostic(`${status} ${original.slice(0, 90)}`);
        assert.ok(status >= 200 && status < 300, `${original}\n→ ${status} ${body.slice(0, 300)}`);
        outputs.push(body);
        if (!agentId && original.includes('"name":"E2E Test"')) agentId = JSON.parse(body).id;
      }
      // What each step promises: a warm pool, a config, answers, a template's fields, a zip.
      const [, , , , stats, created, chat, stream, fromTemplate, zip, local] = outputs;
      assert.ok(JSON.parse(stats!).warm_instances > 0, stats);
      assert.equal(JSON.parse(created!).env, 'cloud_pool');
      assert.equal(JSON.parse(created!).name, 'E2E Test');
      assert.deepEqual(JSON.parse(chat!).response.success, true);
      assert.match(JSON.parse(chat!).response.result.response, /4/);
      const events = [...stream!.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
      assert.deepEqual(events, ['session_start', 'system', 'text', 'result', 'session_end']);
      assert.match(stream!, /data: \[DONE\]/);
      const researcher = JSON.parse(fromTemplate!);
      assert.equal(researcher.template_id, 'researcher');
      assert.equal(researcher.mode, 'COLLABORATIVE');
      assert.ok(researcher.tools.includes('web_search'), researcher.tools.join());
      assert.equal(zip, '', 'the scaffold went to scaffold.zip');
      assert.equal(readFileSync(`${dir}/scaffold.zip`).subarray(0, 2).toString(), 'PK');
      assert.equal(JSON.parse(local!).agent.source, 'local');
      assert.deepEqual(JSON.parse(local!).agent.metadata, { deployment_id: 'deploy-001' });
      const gone = await s.request('GET', `/api/v1/agents/configs/${agentId}`, {
        key: null,
        headers: { 'user-id': 'test-user' },
      });
      assert.equal(gone.status, 404);
    });

    it('keeps template values for fields not sent, and explicit fields over the template', async () => {
      const dev = { key: null, headers: { 'user-id': 'test-user' } };
      const plain = await s.request('POST', '/api/v1/agents/configs', {
        ...dev,
        body: { name: 'Plain Researcher', template_id: 'researcher' },
      });
      assert.equal(plain.status, 200, plain.text);
      assert.equal(plain.body.mode, 'COLLABORATIVE');
      const reactive = await s.request('POST', '/api/v1/agents/configs', {
        ...dev,
        body: { name: 'Reactive Researcher', template_id: 'researcher', mode: 'REACTIVE', tools: [] },
      });
      assert.equal(reactive.body.mode, 'REACTIVE');
      assert.deepEqual(reactive.body.tools, []);
      const patched = await s.request('PATCH', `/api/v1/agents/configs/${plain.body.id}`, {
        ...dev,
        body: { description: 'changed' },
      });
      assert.equal(patched.body.description, 'changed');
      assert.equal(patched.body.system_prompt, plain.body.system_prompt);
      const list = await s.request('GET', '/api/v1/agents/configs', dev);
      assert.ok(list.body.some((c: { id: string }) => c.id === plain.body.id));
      // A client's own session id keeps history across chats.
      for (const message of ['What is 2+2?', 'And 3+3?']) {
        const res = await s.request('POST', '/api/v1/agents/chat', {
          ...dev,
          body: { agent_config_id: 'Plain Researcher', message, stream: false, session_id: 'my-session' },
        });
        assert.equal(res.status, 200, res.text);
      }
      const q = await s.request('POST', '/query', {
        ...dev,
        body: { query: 'What is 5+5?', agent_config_id: plain.body.id },
      });
      assert.equal(q.body.status, 'success', q.text);
    });

    it('is closed without dev mode credentials, and refuses bad bodies with 400', async () => {
      assert.equal((await s.request('GET', '/api/v1/agents/configs', { key: null })).status, 401);
      assert.equal((await s.request('GET', '/api/v1/agents/templates', { key: null })).status, 200);
      const bad = await s.request('POST', '/api/v1/agents/configs', {
        key: null,
        headers: { 'user-id': 'test-user' },
        body: { name: 'x', env: 'moon' },
      });
      assert.equal(bad.status, 400);
    });
  });
}
