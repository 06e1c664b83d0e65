import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A vendor's provider whose key variable is unset is never dialled: its models are a 404 that says
 * how to configure them, on every door in its vendor's shape, instead of a connection error or a
 * breaker opened by 401s.
 */
describe('a model of a provider nobody configured', () => {
  let s: TestServer;
  const saved = { openai: process.env.OPENAI_API_KEY, anthropic: process.env.ANTHROPIC_API_KEY };
  before(async () => {
    delete process.env.OPENAI_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    s = await startServer('pglite', { models: { fallbacks: { 'mock/default': ['openai/gpt-4o'] } } });
  });
  after(async () => {
    await s.close();
    if (saved.openai !== undefined) process.env.OPENAI_API_KEY = saved.openai;
    if (saved.anthropic !== undefined) process.env.ANTHROPIC_API_KEY = saved.anthropic;
  });

  it('is a 404 naming the key variable on the OpenAI door, for the openai client', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    for (const call of [
      () =>
        client.chat.completions.create({
          model: 'openai/gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      () =>
        client.chat.completions.create({
          model: 'openai/gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      () => client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'hi' }),
      () => client.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'hi' }),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.match(
        err.message,
        /provider "(openai|anthropic)" is not configured: set (OPENAI|ANTHROPIC)_API_KEY/,
      );
      assert.equal((err.error as { param?: string }).param, 'model');
      assert.equal(err.headers.get('retry-after'), null);
    }
    // Nothing was dialled, so no breaker opened: /health shows the provider off, not failing.
    const health = await s.request('GET', '/health');
    assert.equal(health.body.components['model:openai'].status, 'off');
    assert.deepEqual(health.body.components.model_providers.detail.breakers, {});
  });

  it("is a 404 in Anthropic's shape on the Messages door", async () => {
    const client = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
    const err = await client.messages
      .create({
        model: 'anthropic/claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.NotFoundError, String(err));
    assert.match(err.message, /set ANTHROPIC_API_KEY/);
  });

  it('is skipped as a fallback, and not listed among the models', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    const c = await client.chat.completions.create({
      model: 'mock/default',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(c.choices[0]?.message.content, 'You said: hi');
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(!ids.some((id) => id.startsWith('openai/')), ids.join(', '));
  });
});
