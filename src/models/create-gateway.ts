import type { Config } from '../config/config.ts';
import type { ProviderConfig } from '../config/models-config.ts';
import { ModelCatalog } from './catalog.ts';
import { Gateway } from './gateway.ts';
import type { Provider } from './provider.ts';
import { MockProvider } from './providers/mock.ts';

/** The providers named in config, plus the built-in `mock`. */
export function createProviders(config: Config['models']): Map<string, Provider> {
  const defs: Record<string, ProviderConfig> = { mock: { type: 'mock' }, ...config.providers };
  const providers = new Map<string, Provider>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === 'mock') providers.set(name, new MockProvider(name, config.mock));
  }
  return providers;
}

/** Builds the model gateway from config. */
export function createModelGateway(config: Config): Gateway {
  const providers = createProviders(config.models);
  return new Gateway(new ModelCatalog(config.models, providers), providers.get('mock') as MockProvider);
}
