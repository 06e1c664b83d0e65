import type { Config } from '../../config/config.ts';
import { type ProviderConfig, type ProviderType, providerTypes } from '../../config/models-config.ts';
import { AppError } from '../../errors.ts';
import type { OfflineEncoder } from '../offline-encoder/offline-encoder.ts';
import type { Provider, ProviderFactory } from '../provider.ts';
import { anthropic } from './anthropic.ts';
import { azure } from './azure.ts';
import { bedrock } from './bedrock.ts';
import { gemini } from './gemini.ts';
import { mock } from './mock.ts';
import { openai } from './openai.ts';
import { headersFromEnv } from './provider-headers.ts';
import { vertex } from './vertex.ts';

/**
 * Every kind of model provider, by its `type` in `models.providers`. Adding one: its file here
 * exporting a `ProviderFactory`, its name in `providerTypes` (config/models-config.ts, from which the
 * config enum and `ProviderType` come) and its entry below; the compiler refuses either without the
 * other (docs/architecture.md, "Adding a model provider").
 */
export const providerFactories = { mock, openai, azure, anthropic, bedrock, gemini, vertex } satisfies Record<
  ProviderType,
  ProviderFactory
>;

/** The vendors' endpoints, present unless config redefines the names. */
const builtinEndpoints: Record<string, ProviderConfig> = {
  mock: { type: 'mock' },
  openai: { type: 'openai', api_key_env: 'OPENAI_API_KEY' },
  anthropic: { type: 'anthropic', api_key_env: 'ANTHROPIC_API_KEY' },
  gemini: { type: 'gemini', api_key_env: 'GEMINI_API_KEY' },
};

/**
 * The providers named in config, plus the built-in ones. Keys come only from the environment. A
 * type with no factory is an error naming the known ones: config validation refuses it first, so
 * this guards what reaches here another way (a config built in code). `offlineEncoder`: the
 * process's one, shared with the knowledge bases (a mock without it makes its own on first use).
 */
export function createProviders(
  config: Config['models'],
  env: Record<string, string | undefined> = process.env,
  offlineEncoder?: OfflineEncoder,
): Map<string, Provider> {
  const endpoints = { ...builtinEndpoints, ...config.providers };
  const providers = new Map<string, Provider>();
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const factory: ProviderFactory | undefined = Object.hasOwn(providerFactories, endpoint.type)
      ? providerFactories[endpoint.type]
      : undefined;
    if (!factory) {
      throw new AppError(
        'config_error',
        `models.providers.${name}.type: unknown provider type ${JSON.stringify(endpoint.type)} ` +
          `(known: ${providerTypes.join(', ')})`,
      );
    }
    const apiKey = endpoint.api_key_env ? env[endpoint.api_key_env] : undefined;
    const timeouts = { ...config.timeouts, ...endpoint.timeouts };
    const headers = headersFromEnv(name, endpoint, env);
    providers.set(
      name,
      factory({ name, endpoint, apiKey, headers, timeouts, models: config, offlineEncoder }),
    );
  }
  return providers;
}

/**
 * Why each provider that cannot be called is not configured: a vendor's endpoint (no base_url of its
 * own, as the built-in openai and anthropic and a hosted preset's) or an Azure resource, which
 * always takes a key, whose API key variable is unset. /health shows it `off`.
 */
export function unconfiguredProviders(
  config: Config['models'],
  env: Record<string, string | undefined> = process.env,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, endpoint] of Object.entries({ ...builtinEndpoints, ...config.providers })) {
    if (
      endpoint.api_key_env &&
      !env[endpoint.api_key_env] &&
      (!endpoint.base_url || endpoint.type === 'azure')
    )
      out.set(name, `not configured: set ${endpoint.api_key_env}`);
  }
  return out;
}

/**
 * Whether no provider but the mock can answer: every endpoint is a mock or a vendor's without its
 * key. Then the earlier systems' model names stand in for the mock (`ModelCatalog`, `StandIn`).
 */
export function onlyMockConfigured(
  config: Config['models'],
  env: Record<string, string | undefined> = process.env,
): boolean {
  const unconfigured = unconfiguredProviders(config, env);
  return Object.entries({ ...builtinEndpoints, ...config.providers }).every(
    ([name, endpoint]) => endpoint.type === 'mock' || unconfigured.has(name),
  );
}
