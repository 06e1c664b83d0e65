import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from '../models/helpers/fake-upstream.ts';

const LIMIT = 3000;
const png = `data:image/png;base64,${Buffer.alloc(600, 7).toString('base64')}`;
const pdf = {
  file_data: `data:application/pdf;base64,${Buffer.alloc(300, 1).toString('base64')}`,
  filename: 'a.pdf',
};

for (const store of stores) {
  describe(`agent chat with attachments on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    const up = new FakeUpstream();
    before(async () => {
      await up.start();
      up.answer({ status: 200, body: oa.completion('a grey square') });
      s = await startServer(store, {
        models: {
          providers: {
            up: { type: 'openai', base_url: `${up.url}/v1` },
            claude: { type: 'anthropic', base_url: up.url },
          },
          retries: { max: 0, base_ms: 1, max_ms: 10 },
        },
        runtime: { max_attachment_bytes: LIMIT },
      });
      const made = await s.request('POST', '/v1/agents', { body: { name: 'viewer', model: 'up/gpt-x' } });
      assert.equal(made.status, 201, made.text);
      agentId = made.body.id;
    });
    after(async () => {
      await s.close();
      await up.close();
    });

    const chat = (body: Record<string, unknown>) =>
      s.request('POST', `/v1/agents/${agentId}/chat`, { body: { stream: false, ...body } });
    const userContent = () =>
      up.seen.at(-1)!.body.messages.filter((m: { role: string }) => m.role === 'user');

    it('passes attachments to the model as content parts and keeps them in the session history', async () => {
      const image = { type: 'image_url', image_url: { url: png, detail: 'low' } };
      const file = { type: 'file', file: pdf };
      const got = await chat({ message: 'What is in these?', attachments: [image, file] });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.body.response.text, 'a grey square');
      assert.deepEqual(userContent(), [
        { role: 'user', content: [{ type: 'text', text: 'What is in these?' }, image, file] },
      ]);

      const history = await s.request('GET', `/v1/sessions/${got.body.session_id}/messages`);
      assert.equal(history.status, 200, history.text);
      const [question, answer] = history.body.data;
      assert.equal(question.content, 'What is in these?', 'the text stays the message content');
      assert.deepEqual(question.parts, [{ type: 'text', text: 'What is in these?' }, image, file]);
      assert.equal(question.run_id, got.body.run_id, 'stored with the run');
      assert.equal(answer.parts, null);

      // The next turn of the session sends the earlier attachments again: the model sees the history.
      const next = await chat({ message: 'And the colour?', session_id: got.body.session_id });
      assert.equal(next.status, 200, next.text);
      const users = userContent();
      assert.deepEqual(users[0].content, [{ type: 'text', text: 'What is in these?' }, image, file]);
      assert.equal(users[1].content, 'And the colour?');
    });

    it('a fork of a run with attachments sends them again, with the edited message', async () => {
      const image = { type: 'image_url', image_url: { url: png } };
      const got = await chat({ message: 'Is it red?', attachments: [image] });
      assert.equal(got.status, 200, got.text);
      const res = await s.request('POST', `/v1/runs/${got.body.run_id}/fork`, {
        body: { message: 'Is it blue?' },
      });
      assert.equal(res.status, 201, res.text);
      const run = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${res.body.id}`);
        return ['completed', 'failed'].includes(r.body.status) ? r.body : undefined;
      });
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
      assert.deepEqual(userContent(), [
        { role: 'user', content: [{ type: 'text', text: 'Is it blue?' }, image] },
      ]);
      const history = await s.request('GET', `/v1/sessions/${res.body.session_id}/messages`);
      assert.deepEqual(history.body.data[0].parts, [{ type: 'text', text: 'Is it blue?' }, image]);
    });

    it('/v1/responses: input_image and input_file parts reach the model, and an agent model keeps them', async () => {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
      const input = [
        {
          role: 'user' as const,
          content: [
            { type: 'input_text' as const, text: 'Compare these' },
            { type: 'input_image' as const, image_url: png, detail: 'low' as const },
            { type: 'input_file' as const, file_data: pdf.file_data, filename: 'a.pdf' },
          ],
        },
      ];
      const parts = [
        { type: 'text', text: 'Compare these' },
        { type: 'image_url', image_url: { url: png, detail: 'low' } },
        { type: 'file', file: { file_data: pdf.file_data, filename: 'a.pdf' } },
      ];
      const direct = await client.responses.create({ model: 'up/gpt-x', input });
      assert.equal(direct.output_text, 'a grey square');
      assert.deepEqual(userContent(), [{ role: 'user', content: parts }]);
      const viaAgent = await client.responses.create({ model: 'agent/viewer', input }).withResponse();
      assert.deepEqual(userContent(), [{ role: 'user', content: parts }]);
      const sessionId = viaAgent.response.headers.get('x-agentry-session-id');
      const history = await s.request('GET', `/v1/sessions/${sessionId}/messages`);
      assert.deepEqual(history.body.data[0].parts, parts);
    });

    it('refuses attachments over runtime.max_attachment_bytes with a 413 naming the one, writing nothing', async () => {
      const before = await s.request('GET', `/v1/sessions?agent_id=${agentId}`);
      const big = `data:image/png;base64,${Buffer.alloc(LIMIT - 500, 1).toString('base64')}`;
      const got = await chat({
        message: 'two pictures',
        attachments: [
          { type: 'image_url', image_url: { url: big } },
          { type: 'image_url', image_url: { url: png } },
        ],
      });
      assert.equal(got.status, 413, got.text);
      assert.equal(got.body.error.code, 'payload_too_large');
      assert.equal(got.body.error.details.param, 'attachments[1]');
      assert.match(got.body.error.message, /runtime\.max_attachment_bytes/);
      const after = await s.request('GET', `/v1/sessions?agent_id=${agentId}`);
      assert.equal(after.body.data.length, before.body.data.length, 'no session was made');
      // An image by URL carries no inline data: no limit applies to it.
      const byUrl = await chat({
        message: 'by url',
        attachments: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }],
      });
      assert.equal(byUrl.status, 200, byUrl.text);
    });

    it('a provider that cannot take a part fails the run with a 400 saying so', async () => {
      const made = await s.request('POST', '/v1/agents', { body: { name: 'hearer', model: 'claude/x' } });
      assert.equal(made.status, 201, made.text);
      const got = await s.request('POST', `/v1/agents/${made.body.id}/chat`, {
        body: {
          stream: false,
          message: 'what is said?',
          attachments: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }],
        },
      });
      assert.equal(got.status, 400, got.text);
      assert.match(got.body.error.message, /Anthropic models do not take input_audio/);
    });

    it('refuses an unknown part type or a file with neither data nor id with a 400', async () => {
      const unknown = await chat({ message: 'x', attachments: [{ type: 'video', video: {} }] });
      assert.equal(unknown.status, 400, unknown.text);
      const empty = await chat({ message: 'x', attachments: [{ type: 'file', file: { filename: 'a' } }] });
      assert.equal(empty.status, 400, empty.text);
      assert.match(empty.text, /file_data or file_id/);
    });

    it('agent/<name> as a model: an image part of the last message becomes an attachment of the run', async () => {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
      const { response } = await client.chat.completions
        .create({
          model: 'agent/viewer',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'Describe it' },
                { type: 'image_url', image_url: { url: png } },
              ],
            },
          ],
        })
        .withResponse();
      assert.deepEqual(userContent()[0].content, [
        { type: 'text', text: 'Describe it' },
        { type: 'image_url', image_url: { url: png } },
      ]);
      const sessionId = response.headers.get('x-agentry-session-id');
      const history = await s.request('GET', `/v1/sessions/${sessionId}/messages`);
      assert.equal(history.body.data[0].parts.length, 2);
    });
  });
}

describe('agent chat attachments under the default limits', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite');
  });
  after(() => s.close());

  it('takes a message with a few MB of attachments (more than server.body_limit) and refuses past 20 MB', async () => {
    const made = await s.request('POST', '/v1/agents', { body: { name: 'big', model: 'mock/default' } });
    assert.equal(made.status, 201, made.text);
    const image = (bytes: number) => ({
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${Buffer.alloc(bytes, 3).toString('base64')}` },
    });
    const chat = (attachments: unknown[]) =>
      s.request('POST', `/v1/agents/${made.body.id}/chat`, {
        body: { message: 'look', stream: false, attachments },
      });
    const ok = await chat([image(3 * 1024 * 1024)]);
    assert.equal(ok.status, 200, ok.text.slice(0, 300));
    // Within the route's body limit, over the attachments' own: the 413 names the attachment.
    const tooBig = await chat([image(10 * 1024 * 1024), image(10.2 * 1024 * 1024)]);
    assert.equal(tooBig.status, 413, tooBig.text.slice(0, 300));
    assert.equal(tooBig.body.error.details.param, 'attachments[1]');
    // A body past even the route's limit: a 413 too.
    const huge = await chat([image(12 * 1024 * 1024), image(12 * 1024 * 1024)]);
    assert.equal(huge.status, 413, huge.text.slice(0, 300));
  });
});
