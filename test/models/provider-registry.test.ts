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
    const cohere = { type: 'cohere' } as unknown as ProviderConfig;
    assert.throws(
      () => createProviders({ ...models, providers: { vertex: cohere } }, {}),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        err.message.includes('models.providers.vertex.type') &&
        err.message.includes('"cohere"') &&
        providerTypes.every((t) => err.message.includes(t)),
    );
  });

  it("config refuses one type's fields on another, naming the field, rather than dropping them", () => {
    const refused = (provider: object, field: RegExp) =>
      assert.throws(() => testConfig({ models: { providers: { x: provider as never } } }), field);
    refused({ type: 'openai', base_url: 'https://api.example.com/v1', region: 'us-east-1' }, /region/);
    refused({ type: 'anthropic', profile: 'prod' }, /profile/);
    refused({ type: 'bedrock', headers_env: { 'x-extra': 'EXTRA' } }, /headers_env/);
    refused({ type: 'gemini', project: 'my-project-1' }, /project/);
    refused({ type: 'openai', base_url: 'https://api.example.com/v1', location: 'europe-west4' }, /location/);
    // Each field on its own type is taken.
    testConfig({ models: { providers: { b: { type: 'bedrock', region: 'us-east-1', profile: 'prod' } } } });
    testConfig({
      models: { providers: { v: { type: 'vertex', project: 'my-project-1', location: 'global' } } },
    });
  });

  it('config refuses an unknown type by the same list, at its path', () => {
    assert.throws(
      () =>
        loadConfig({ env: {}, flags: { models: { providers: { vertex: { type: 'cohere' as 'mock' } } } } }),
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
      // `project`: a vertex endpoint needs one (the other types have no use for it).
      providerTypes.map((type) => [
        `p_${type}`,
        { type, base_url: 'http://127.0.0.1:9/v1', project: 'p-12345' },
      ]),
    );
    const built = createProviders({ ...models, providers }, {});
    for (const type of providerTypes) assert.equal(built.get(`p_${type}`)?.type, type, type);
    // The vendors' endpoints are there unless config redefines their names.
    assert.deepEqual([...built.keys()].filter((n) => !n.startsWith('p_')).sort(), [
      'anthropic',
      'gemini',
      'mock',
      'openai',
    ]);
  });

  it('refuses a vertex endpoint without its project, naming the field', () => {
    const models = testConfig().models;
    assert.throws(
      () =>
        createProviders({ ...models, providers: { vx: { type: 'vertex', location: 'us-central1' } } }, {}),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        err.message.includes('models.providers.vx.project'),
    );
  });
});
