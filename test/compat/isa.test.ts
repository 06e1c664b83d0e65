/**
 * isA's contract (isa-agent-creation.md). Its "E2E Test Commands" section is kept verbatim in
 * fixtures/isa-e2e.sh and run command by command with curl, changing only what the document
 * allows: host and port (every service of isA is this one server) and `<agent_id>`, which the
 * document says to take from step 3. The server runs in dev auth mode, where isA's `user-id` header
 * is accepted, with no model provider configured, as on a fresh laptop: the document's model id
 * (`claude-sonnet-4-5-20250929`) is answered by the mock, and the answers say so.
 *
 * The reference documents live outside the repository, so the test cannot read the section at run
 * time: the fixture is the section's copy, byte for byte, and its sha256 below is the one of the
 * section as the document (dated 2026-02-12) has it. A change to the fixture fails the test; a newer
 * document means copying its section again and its hash with it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** sha256 of the "E2E Test Commands" section's bash block in isa-agent-creation.md (2026-02-12). */
const REFERENCE_SECTION_SHA256 = '4823b9faf3387626b89256736d3d0f8278b9c4e9fc230133c8990a8d3afec183';

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
        sandbox: { pools: { bwrap: { size: 1 }, quickjs: { size: 0 } } },
      });
    });
    after(async () => {
      await s.close();
    });

    it('runs the E2E Test Commands section verbatim', async (t) => {
      const script = readFileSync(new URL('./fixtures/isa-e2e.sh', import.meta.url), 'utf8');
      assert.equal(
        createHash('sha256').update(script).digest('hex'),
        REFERENCE_SECTION_SHA256,
        "the fixture is the reference section's commands, unchanged",
      );
      const list = commands(script);
      assert.equal(list.length, 12, list.join('\n'));
      let agentId = '';
      const outputs: string[] = [];
      const dir = mkdtempSync(path.join(tmpdir(), 'isa-e2e-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      for (const original of list) {
        const cmd = original
          .replace(/http:\/\/localhost:(8080|8090|8086|8082)/g, s.url)
          .replaceAll('<agent_id>', agentId);
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
      assert.deepEqual(JSON.parse(created!).metadata, {}, 'the env is not kept in the metadata');
      assert.deepEqual(JSON.parse(chat!).response.success, true);
      assert.match(JSON.parse(chat!).response.result.response, /4/);
      assert.equal(JSON.parse(chat!).model, 'mock/default', 'the answer says the mock answered');
      assert.match(stream!, /"model":"mock\/default"/, "the stream's result names the model");
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

    it("says which model answered the document's model id, in a header and the body", async () => {
      const dev = { 'user-id': 'test-user', 'content-type': 'application/json' };
      const made = await s.request('POST', '/api/v1/agents/configs', {
        key: null,
        headers: { 'user-id': 'test-user' },
        body: { name: 'Model Shown', model_id: 'claude-sonnet-4-5-20250929' },
      });
      assert.equal(made.body.model_id, 'claude-sonnet-4-5-20250929', 'the config keeps the id as written');
      for (const stream of [false, true]) {
        const res = await fetch(`${s.url}/api/v1/agents/chat`, {
          method: 'POST',
          headers: dev,
          body: JSON.stringify({ agent_config_id: made.body.id, message: 'What is 2+2?', stream }),
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-agentry-model'), 'mock/default');
        const text = await res.text();
        if (!stream) assert.equal(JSON.parse(text).model, 'mock/default');
      }
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
    });

    it("continues the conversation a client's own session_id names", async () => {
      const dev = { key: null, headers: { 'user-id': 'test-user' } };
      const made = await s.request('POST', '/api/v1/agents/configs', {
        ...dev,
        body: { name: 'Session Keeper', system_prompt: 'Keep answers short.' },
      });
      assert.equal(made.status, 200, made.text);
      const turns = [];
      for (const message of ['What is 2+2?', 'And 3+3?']) {
        const res = await s.request('POST', '/api/v1/agents/chat', {
          ...dev,
          body: { agent_config_id: 'session keeper', message, stream: false, session_id: 'my-session' },
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.status, 'success', res.text);
        turns.push(res.body);
      }
      const [first, second] = turns;
      assert.equal(second.session_id, first.session_id, 'the same key is the same session');
      assert.equal(second.response.result.response, '6');
      const history = await s.request('GET', `/v1/sessions/${first.session_id}/messages`);
      assert.deepEqual(
        history.body.data.map((m: { role: string; content: string }) => [m.role, m.content]),
        [
          ['user', 'What is 2+2?'],
          ['assistant', '4'],
          ['user', 'And 3+3?'],
          ['assistant', '6'],
        ],
      );
      // The second answer was made with the first turn before it: three messages of history.
      const run = await s.request('GET', `/v1/runs/${second.run_id}`);
      const model = run.body.steps.find((st: { kind: string }) => st.kind === 'model');
      assert.equal(model.input.context.history.total, 3, JSON.stringify(model.input.context));
      // Another key is another conversation.
      const other = await s.request('POST', '/api/v1/agents/chat', {
        ...dev,
        body: { agent_config_id: made.body.id, message: 'Hi', stream: false, session_id: 'other-session' },
      });
      assert.notEqual(other.body.session_id, first.session_id);
    });

    it("lists isA's two static templates with the reference's content, and answers one by id", async () => {
      const list = await s.request('GET', '/api/v1/agents/templates', { key: null });
      assert.equal(list.status, 200, list.text);
      const byId = new Map(list.body.map((t: { id: string }) => [t.id, t]));
      // The reference's table: id, name, tools, skills, mode.
      const expected = {
        'basic-assistant': {
          name: 'Basic Assistant',
          tools: ['read_file', 'write_file', 'edit_file', 'bash_execute', 'glob_files'],
          skills: ['filesystem', 'code'],
          mode: 'COLLABORATIVE',
        },
        researcher: {
          name: 'Web Researcher',
          tools: ['web_search', 'web_crawl', 'read_file', 'write_file'],
          skills: ['web'],
          mode: 'COLLABORATIVE',
        },
      };
      for (const [id, want] of Object.entries(expected)) {
        const t = byId.get(id) as Record<string, unknown> | undefined;
        assert.ok(t, `template ${id} is listed`);
        assert.deepEqual({ name: t.name, tools: t.tools, skills: t.skills, mode: t.mode }, want);
        assert.equal(t.env, 'in_process');
      }
      const one = await s.request('GET', '/api/v1/agents/templates/researcher', { key: null });
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.id, 'researcher');
      assert.deepEqual(one.body.tools, expected.researcher.tools);
      assert.deepEqual(one.body.skills, ['web']);
      assert.equal(one.body.mode, 'COLLABORATIVE');
      assert.match(one.body.system_prompt, /^You are a research-focused assistant/);
      assert.deepEqual(one.body, byId.get('researcher'), 'the list and the one agree');
      const none = await s.request('GET', '/api/v1/agents/templates/no-such-template', { key: null });
      assert.equal(none.status, 404, none.text);
    });

    it('finds a config by its name, whatever the case, wherever it takes an id', async () => {
      const dev = { key: null, headers: { 'user-id': 'test-user' } };
      const made = await s.request('POST', '/api/v1/agents/configs', {
        ...dev,
        body: { name: 'Named Helper', description: 'first' },
      });
      assert.equal(made.status, 200, made.text);
      const byName = await s.request('GET', '/api/v1/agents/configs/NAMED%20HELPER', dev);
      assert.equal(byName.status, 200, byName.text);
      assert.equal(byName.body.id, made.body.id);
      const byId = await s.request('GET', `/api/v1/agents/configs/${made.body.id}`, dev);
      assert.equal(byId.body.name, 'Named Helper');
      const patched = await s.request('PATCH', '/api/v1/agents/configs/named%20helper', {
        ...dev,
        body: { description: 'second' },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.id, made.body.id);
      assert.equal(patched.body.description, 'second');
      const missing = await s.request('GET', '/api/v1/agents/configs/No%20Such%20Helper', dev);
      assert.equal(missing.status, 404, missing.text);
      const deleted = await s.request('DELETE', '/api/v1/agents/configs/Named%20Helper', dev);
      assert.equal(deleted.status, 200, deleted.text);
      assert.deepEqual(deleted.body, { success: true, id: made.body.id });
      assert.equal((await s.request('GET', `/api/v1/agents/configs/${made.body.id}`, dev)).status, 404);
    });

    it('answers /query without agent_config_id on the default agent, made on first use', async () => {
      const dev = { key: null, headers: { 'user-id': 'test-user' } };
      assert.equal((await s.request('GET', '/v1/agents/default')).status, 404, 'a fresh install has none');
      const q = await s.request('POST', '/query', { ...dev, body: { query: 'What is 5+5?' } });
      assert.equal(q.status, 200, q.text);
      assert.equal(q.body.status, 'success', q.text);
      assert.equal(q.body.response.result.response, '10');
      const agent = await s.request('GET', '/v1/agents/default');
      assert.equal(agent.status, 200, agent.text);
      assert.equal(agent.body.template_id, 'basic-assistant');
      const again = await s.request('POST', '/query', { ...dev, body: { message: 'What is 1+1?' } });
      assert.equal(again.body.response.result.response, '2', again.text);
      const named = await s.request('POST', '/query', {
        ...dev,
        body: { query: 'What is 2+5?', agent_config_id: 'default' },
      });
      assert.equal(named.body.response.result.response, '7', named.text);
      const runs = await s.request('GET', `/v1/runs?agent_id=${agent.body.id}`);
      assert.equal(runs.body.data.length, 3, 'all three ran on the one default agent');
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
