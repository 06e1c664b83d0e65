import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI, { type APIError } from 'openai';
import { closedPort } from '../helpers/closed-port.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from './helpers/fake-upstream.ts';

describe('upstream timeouts and connection failures', () => {
  let s: TestServer;
  let client: OpenAI;
  const slow = new FakeUpstream();
  before(async () => {
    await slow.start();
    s = await startServer('pglite', {
      models: {
        providers: {
          // The socket layer gives up when no response headers come within first_byte_ms.
          slow: { type: 'openai', base_url: `${slow.url}/v1`, timeouts: { first_byte_ms: 300 } },
          gone: { type: 'openai', base_url: `http://127.0.0.1:${await closedPort()}/v1` },
        },
        retries: { max: 1, base_ms: 1, max_ms: 5 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await slow.close();
  });

  const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hi' }] });

  it('an upstream that sends no headers within first_byte_ms answers 504 and is hung up on', async () => {
    slow.answer({ hang: true });
    const before = slow.seen.length;
    await assert.rejects(client.chat.completions.create(ask('slow/m')), (err: APIError) => {
      assert.equal(err.status, 504, err.message);
      assert.equal((err.error as { code?: string }).code, 'gateway_timeout');
      return true;
    });
    // The timeout is retried once (a timeout is the endpoint's fault), then given up.
    assert.equal(slow.seen.length - before, 2);
    await Promise.all(slow.seen.slice(before).map((r) => r.aborted));
  });

  it('X-Agentry-Timeout-Ms bounds the whole call, streaming included', async () => {
    // Headers and one chunk at once, then nothing for far longer than the caller allows.
    slow.answer({
      sse: [oa.chunk({ role: 'assistant', content: 'first ' }), oa.chunk({ content: 'late' })],
      gapMs: 5_000,
    });
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.adminKey}`,
        'content-type': 'application/json',
        'x-agentry-timeout-ms': '400',
      },
      body: JSON.stringify({ ...ask('slow/m'), stream: true }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /"content":"first "/);
    assert.match(text, /"code":"gateway_timeout"/);
    assert.doesNotMatch(text, /\[DONE\]/);
    await slow.seen.at(-1)!.aborted;
  });

  it('a refused connection answers 502 after its retries', async () => {
    await assert.rejects(client.chat.completions.create(ask('gone/m')), (err: APIError) => {
      assert.equal(err.status, 502);
      assert.equal((err.error as { code?: string }).code, 'bad_gateway');
      return true;
    });
  });

  it('a non-2xx upstream answer keeps its status and message through the transport', async () => {
    slow.answer({
      status: 404,
      body: { error: { message: 'no such model: m', type: 'invalid_request_error' } },
    });
    await assert.rejects(client.chat.completions.create(ask('slow/m')), (err: APIError) => {
      assert.equal(err.status, 404);
      assert.match(err.message, /no such model: m/);
      return true;
    });
  });
});
