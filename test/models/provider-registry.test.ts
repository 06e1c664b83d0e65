/**
 * The provider registry: one entry per kind of provider, from which the config enum and the
 * `type` union come. A type with no entry is an error naming the known ones, never another
 * provider built in its place.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, testConfig } from '../../src/config/config.ts';
import { type ProviderConfig, providerTypes } from '../../src/config/models-config.ts';
import { AppError } from '../../src/errors.ts';
import { createProviders, providerFactories } from '../../src/models/providers/registry.ts';

describe('model provider registry', () => {
  it('refuses a provider type it has no entry for, naming the known ones', () => {
    const models = testConfig().models;
    // A config built in code reaches the registry without the schema's enum.
    const gemini = { type: 'gemini' } as unknown as ProviderConfig;
    assert.throws(
      () => createProviders({ ...models, providers: { vertex: gemini } }, {}),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        err.message.includes('models.providers.vertex.type') &&
        err.message.includes('"gemini"') &&
        providerTypes.every((t) => err.message.includes(t)),
    );
  });

  it('config refuses an unknown type by the same list, at its path', () => {
    assert.throws(
      () =>
        loadConfig({ env: {}, flags: { models: { providers: { vertex: { type: 'gemini' as 'mock' } } } } }),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        /models\.providers\.vertex\.type/.test(err.message),
    );
  });

  it('builds one provider of each registered type, which reports that type', () => {
    assert.deepEqual(Object.keys(providerFactories).sort(), [...providerTypes].sort());
    const models = testConfig().models;
    const providers = Object.fromEntries(
      providerTypes.map((type) => [`p_${type}`, { type, base_url: 'http://127.0.0.1:9/v1' }]),
    );
    const built = createProviders({ ...models, providers }, {});
    for (const type of providerTypes) assert.equal(built.get(`p_${type}`)?.type, type, type);
    // The vendors' endpoints are there unless config redefines their names.
    assert.deepEqual([...built.keys()].filter((n) => !n.startsWith('p_')).sort(), [
      'anthropic',
      'mock',
      'openai',
    ]);
  });
});
