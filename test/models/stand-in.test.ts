/**
 * The mock standing in for model names nothing maps, while no real provider is configured (the
 * embedded default): the earlier systems' scripts name models such as `claude-sonnet-4-5-20250929`.
 * Once a provider is configured, an unknown name is an error that names the models the config knows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../../src/config/config.ts';
import { ModelCatalog } from '../../src/models/catalog.ts';
import { createProviders, onlyMockConfigured } from '../../src/models/providers/registry.ts';

const models = configSchema.parse({}).models;

describe('model stand-in', () => {
  it('is on only while no provider but the mock can answer', () => {
    assert.equal(onlyMockConfigured(models, {}), true);
    assert.equal(onlyMockConfigured(models, { ANTHROPIC_API_KEY: 'k' }), false);
    const local = {
      ...models,
      providers: { local: { type: 'openai' as const, base_url: 'http://127.0.0.1:9/v1' } },
    };
    assert.equal(onlyMockConfigured(local, {}), false);
  });

  it('answers a bare unknown name with the mock, and says so once', () => {
    const seen: string[] = [];
    const catalog = new ModelCatalog(models, createProviders(models, {}), {
      enabled: true,
      onStandIn: (name) => seen.push(name),
    });
    const r = catalog.resolve('claude-sonnet-4-5-20250929');
    assert.equal(r.id, 'mock/default');
    assert.equal(r.standInFor, 'claude-sonnet-4-5-20250929');
    catalog.resolve('claude-sonnet-4-5-20250929');
    assert.deepEqual(seen, ['claude-sonnet-4-5-20250929'], 'one log line per name');
    assert.throws(() => catalog.resolve('nope/x'), /no provider "nope"/);
  });

  it('keeps an unknown name an error naming the configured models once a provider is real', () => {
    const configured = { ...models, aliases: { fast: 'openai/gpt-4o-mini' } };
    const catalog = new ModelCatalog(configured, createProviders(configured, { OPENAI_API_KEY: 'sk-test' }), {
      enabled: false,
    });
    assert.throws(
      () => catalog.resolve('claude-sonnet-4-5-20250929'),
      (err: Error & { code?: string }) =>
        err.code === 'not_found' &&
        /claude-sonnet-4-5-20250929/.test(err.message) &&
        /fast/.test(err.message) &&
        /openai\/gpt-4o-mini/.test(err.message),
    );
  });
});
