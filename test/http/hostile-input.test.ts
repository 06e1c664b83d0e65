/**
 * Input a careless or hostile client sends, at the edge and after: nesting that would freeze a
 * process or overflow the stack, text the store cannot keep, and bodiless POSTs that still say
 * `Content-Type: application/json`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseJsonFlag } from '../../src/cli/client.ts';
import { renderTaskPrompt } from '../../src/runtime/agent-runner.ts';
import { boundDepth } from '../../src/text/bound-depth.ts';
import { findUnstorableText, jsonTooDeep } from '../../src/text/json-limits.ts';
import { renderJson } from '../../src/text/render-json.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually } from '../runtime/helpers.ts';

const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

/** A raw request: the body goes out as written (JSON.stringify cannot write a lone surrogate escape). */
async function raw(s: TestServer, method: string, path: string, body?: string, type = 'application/json') {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.adminKey}`, ...(type ? { 'content-type': type } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

describe('bounded JSON helpers', () => {
  it('finds nesting past the limit without recursion, ignoring brackets inside strings', () => {
    assert.equal(jsonTooDeep(nested(64), 64), undefined);
    assert.equal(jsonTooDeep(nested(65), 64), 65);
    assert.equal(jsonTooDeep(nested(200_000), 64), 65);
    assert.equal(jsonTooDeep(`{"a":"${'['.repeat(500)}\\"["}`, 64), undefined);
  });

  it('renders a value nested thousands deep in bounded, linear output', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 3_000; i++) deep = { a: deep };
    // JSON.stringify(deep, null, 2) is about 9 million characters; the prompt gets a bounded cut.
    const text = renderJson(deep);
    assert.ok(text.length < 21_000, `${text.length} characters`);
    assert.match(text, /\{…\}/);
    const prompt = renderTaskPrompt('Do {{payload}}', {
      title: 't',
      description: '',
      task_type: 'x',
      payload: { deep },
    });
    assert.ok(prompt.length < 21_000, `${prompt.length} characters`);
    const wide = renderJson({ items: Array.from({ length: 100_000 }, (_, i) => i) });
    assert.match(wide, /JSON truncated at 20000 characters/);
  });

  it('cuts produced values past the depth limit, iteratively, and leaves shallow ones as they are', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    assert.throws(() => JSON.stringify(deep), RangeError);
    const cut = boundDepth(deep, 3);
    assert.equal(JSON.stringify(cut), '[[["[nested deeper than 3 levels: cut]"]]]');
    const shallow = { a: [1, { b: 2 }] };
    assert.equal(boundDepth(shallow), shallow);
    assert.deepEqual(Object.keys(boundDepth(JSON.parse('{"__proto__":{"x":[[1]]}}'), 2) as object), [
      '__proto__',
    ]);
  });

  it('refuses a CLI JSON flag too deep to send before it overflows the stack', () => {
    const flag = `{"a":${nested(20_000)}}`;
    assert.throws(() => parseJsonFlag('--payload', flag), /--payload is nested deeper than 1000 levels/);
    assert.deepEqual(parseJsonFlag('--payload', `{"a":${nested(3)}}`), { a: [[[]]] });
  });

  it('names the path of a string holding NUL or a lone surrogate', () => {
    assert.equal(findUnstorableText({ a: [1, { b: 'ok' }] }), undefined);
    assert.equal(findUnstorableText({ a: [1, { b: 'x\u0000' }] }), '$.a[1].b');
    assert.equal(findUnstorableText({ 'a b': '\ud800' }), '$["a b"]');
    assert.equal(findUnstorableText({ 'k\udc00': 1 }), '$["k\\udc00"]');
    assert.equal(findUnstorableText({ emoji: '\ud83d\ude00' }), undefined);
  });
});

for (const store of stores) {
  describe(`hostile input on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    before(async () => {
      s = await startServer(store);
      agentId = (await createAgent(s, { name: 'target' })).id;
    });
    after(async () => {
      await s.close();
    });

    it('refuses payloads nested past the limit with 400 naming it, at any depth', async () => {
      for (const depth of [3_000, 20_000]) {
        const body = `{"agent_id":"${agentId}","task_type":"default","title":"t","payload":{"x":${nested(depth)}}}`;
        const res = await raw(s, 'POST', '/v1/tasks', body);
        assert.equal(res.status, 400, res.text);
        assert.match(res.body.error.message, /deeper than 64 levels \(server\.json_max_depth\)/);
      }
      const fine = await raw(
        s,
        'POST',
        '/v1/tasks',
        JSON.stringify({
          agent_id: agentId,
          task_type: 'default',
          title: 't',
          payload: { x: JSON.parse(nested(40)) },
        }),
      );
      assert.ok(fine.status < 300, fine.text);
    });

    it('refuses client text with NUL or lone surrogates with 400 naming the field, on every kind of route', async () => {
      const cases: Array<[string, string, string, RegExp]> = [
        ['POST', '/v1/agents', '{"name":"nul\\u0000name"}', /\$\.name/],
        ['POST', '/v1/agents', '{"name":"ok-sur","description":"\\ud800"}', /\$\.description/],
        [
          'POST',
          '/v1/tasks',
          `{"agent_id":"${agentId}","task_type":"default","title":"t","payload":{"k":"\\udfff"}}`,
          /\$\.payload\.k/,
        ],
        ['POST', `/v1/agents/${agentId}/chat`, '{"message":"hi\\u0000","stream":false}', /\$\.message/],
        ['POST', '/v1/sessions/search', '{"query":"\\u0000"}', /\$\.query/],
      ];
      for (const [method, path, body, where] of cases) {
        const res = await raw(s, method, path, body);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.match(res.body.error.message, where);
      }
      const q = await raw(s, 'GET', '/v1/agents?name=a%00b', undefined, '');
      assert.equal(q.status, 400, q.text);
      assert.match(q.body.error.message, /query parameter name/);
    });

    it('stores tool and model output holding NUL or lone surrogates instead of failing the run', async () => {
      // A file with a NUL byte (as /proc/1/environ has), written and read back through tools.
      const agent = await createAgent(s, {
        name: 'nul-tool',
        model: 'mock/nul',
        tools: ['write_file', 'read_file'],
      });
      s.app.services.models.mock.script('nul', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'env', content: 'A=1\u0000B=\ud800' } }] },
        { tool_calls: [{ name: 'read_file', arguments: { path: 'env' } }] },
        { content: 'done \u0000 and \udc00' },
      ]);
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'go', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.status, 'success');
      assert.match(res.text, /A=1\\u0000B=/, 'the client is answered with the tool output as it was');
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      const tool = run.body.steps.find((st: { name: string }) => st.name === 'read_file');
      assert.ok(tool, JSON.stringify(run.body.steps));
      assert.doesNotMatch(JSON.stringify(tool.output), /\\u0000/);
      const history = await s.request('GET', `/v1/sessions/${res.body.session_id}/messages`);
      assert.equal(history.status, 200, history.text);
      assert.match(history.body.data.at(-1).content, /done \ufffd and \ufffd/);
    });

    it('cuts nesting in what tools and models produce instead of failing the run', async () => {
      // A tool answering with a value 20,000 deep, and a model sending arguments that deep:
      // JSON.stringify (events, steps, the next prompt) would overflow the stack on either.
      let deep: unknown = 'leaf';
      for (let i = 0; i < 20_000; i++) deep = { a: deep };
      s.app.services.tools.register({
        name: 'deep_output',
        description: 'answers with a deeply nested value',
        parameters: { type: 'object', properties: {} },
        handler: async () => deep,
      });
      const agent = await createAgent(s, {
        name: 'deep-produced',
        model: 'mock/deep',
        tools: ['deep_output', 'write_file'],
      });
      const deepArgs = `{"path":"x","content":"y","extra":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
      s.app.services.models.mock.script('deep', [
        { tool_calls: [{ name: 'deep_output', arguments: {} }] },
        { tool_calls: [{ name: 'write_file', arguments: deepArgs }] },
        { content: 'done' },
      ]);
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'go', stream: false },
      });
      assert.equal(res.status, 200, res.text.slice(0, 500));
      assert.equal(res.body.status, 'success');
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.equal(run.status, 200, run.text.slice(0, 500));
      const [output, write] = run.body.steps.filter((st: { kind: string }) => st.kind === 'tool');
      // Cut where it entered the run (64 levels), and again for the stored trace (trace-value.ts).
      assert.match(JSON.stringify(output.output), /nested deeper than 64 levels: cut|\[nested too deep\]/);
      assert.match(write.error, /arguments are nested deeper than 64 levels/);
      assert.match(JSON.stringify(write.input), /nested deeper than 64 levels: cut|\[nested too deep\]/);
    });

    it('holds ingested JSON documents and multipart JSON fields to the depth and text rules', async () => {
      const kb = await s.request('POST', '/v1/knowledge-bases', { body: { name: 'hostile-docs' } });
      assert.equal(kb.status, 201, kb.text);
      const docs = `/v1/knowledge-bases/${kb.body.id}/documents`;
      const deepDoc = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
      const doc = await s.request('POST', docs, {
        body: { source: 'd.json', format: 'json', content: deepDoc },
      });
      assert.equal(doc.status, 422, doc.text);
      assert.match(doc.body.error.message, /nested deeper than 64 levels/);
      const upload = async (fields: Record<string, string>) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) form.set(k, v);
        form.set('file', new Blob(['hello world']), 'a.txt');
        const r = await fetch(`${s.url}${docs}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.adminKey}` },
          body: form,
        });
        return { status: r.status, body: (await r.json()) as { error: { message: string } } };
      };
      const cases: Array<[Record<string, string>, RegExp]> = [
        [
          { metadata: `${'{"a":'.repeat(100)}1${'}'.repeat(100)}` },
          /deeper than 64 levels \(server\.json_max_depth\)/,
        ],
        [{ metadata: '{"a":"x\\u0000y"}' }, /\$\.a holds a NUL/],
        [{ metadata: '{"__proto__":{"x":1}}' }, /malformed field metadata/],
        [{ title: 'nul\u0000title' }, /field title holds a NUL/],
      ];
      for (const [fields, message] of cases) {
        const res = await upload(fields);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(res.body.error.message, message);
      }
      const fine = await upload({ metadata: '{"team":"ops"}', title: 'fine' });
      assert.equal(fine.status, 201, JSON.stringify(fine.body));
    });

    it('treats an empty body with a JSON content type as {} on bodiless POSTs', async () => {
      const created = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agentId,
          task_type: 'default',
          title: 'later',
          run_at: new Date(Date.now() + 3_600_000).toISOString(),
        },
      });
      assert.ok(created.status < 300, created.text);
      const cancel = await raw(s, 'POST', `/v1/tasks/${created.body.id}/cancel`, '');
      assert.equal(cancel.status, 200, cancel.text);
      assert.equal(cancel.body.status, 'cancelled');
      const retry = await raw(s, 'POST', `/v1/tasks/${created.body.id}/retry`, '');
      assert.equal(retry.status, 200, retry.text);
      // A run waiting for approval: approve and deny with an empty JSON body.
      const careful = await createAgent(s, {
        name: 'careful-empty',
        mode: 'COLLABORATIVE',
        model: 'mock/empty',
        tools: ['write_file'],
      });
      for (const verb of ['approve', 'deny']) {
        s.app.services.models.mock.script('empty', [
          { tool_calls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'x' } }] },
          { content: 'ok' },
        ]);
        const chat = await s.request('POST', `/v1/agents/${careful.id}/chat`, {
          body: { message: 'write', stream: false },
        });
        assert.equal(chat.body.status, 'input_required', chat.text);
        const res = await raw(s, 'POST', `/v1/runs/${chat.body.run_id}/${verb}`, '');
        assert.ok(res.status < 300, `${verb}: ${res.status} ${res.text}`);
        await eventually(async () => {
          const run = await s.request('GET', `/v1/runs/${chat.body.run_id}`);
          return run.body.status === 'completed' ? true : undefined;
        });
      }
    });
  });
}
