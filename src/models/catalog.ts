import type { Config } from '../config/config.ts';
import type { ModelPrice } from '../config/models-config.ts';
import { AppError } from '../errors.ts';
import type { Provider } from './provider.ts';
import type { Usage } from './types.ts';
import { tokenDetails } from './usage-details.ts';

export interface ResolvedModel {
  /** `provider/model`, after aliases. */
  id: string;
  provider: Provider;
  /** The provider's own model name. */
  model: string;
  price?: ModelPrice;
  /** Completion tokens a call that sets no max_tokens reserves (and is capped at): `models.output_tokens`. */
  outputTokens?: number;
  /** The name asked for, when the mock answers for it (no real provider configured: `standIn`). */
  standInFor?: string;
}

/**
 * With no real provider configured (the embedded default, no API key set), a bare model name that
 * nothing maps (`claude-sonnet-4-5-20250929`, as the earlier systems' documents and scripts name
 * models) is answered by the mock, so those scripts run end to end on a laptop. It is visible: the
 * resolution carries `standInFor`, `onStandIn` logs it (once per name), and answers say which model
 * answered. A name with a provider (`openai/gpt-4o`) never stands in, and once a real provider is
 * configured an unknown name is an error naming the models the config knows.
 */
export interface StandIn {
  enabled: boolean;
  onStandIn?: (name: string, model: string) => void;
}

/**
 * Turns what a caller wrote (`fast`, `openai/gpt-4o-mini`) into a provider and a model, and knows
 * prices and fallbacks. Resolutions are cached: the set of names in use is small and the hot path
 * should not split strings and walk maps on every request.
 */
export class ModelCatalog {
  private readonly cache = new Map<string, ResolvedModel>();

  constructor(
    private readonly config: Config['models'],
    private readonly providers: ReadonlyMap<string, Provider>,
    private readonly standIn: StandIn = { enabled: false },
    /** Providers that cannot be called, each with how to configure it (`unconfiguredProviders`). */
    private readonly unconfigured: ReadonlyMap<string, string> = new Map(),
  ) {}

  resolve(name: string): ResolvedModel {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const id = this.config.aliases[name] ?? name;
    const slash = id.indexOf('/');
    if (slash <= 0 || slash === id.length - 1) {
      const mock = this.providers.get('mock');
      if (this.standIn.enabled && slash === -1 && mock) return this.standInFor(name, mock);
      throw new AppError(
        'not_found',
        `model "${name}" not found: address models as provider/model or by alias (configured: ${this.known().join(', ')})`,
        { details: { models: this.known() } },
      );
    }
    const providerName = id.slice(0, slash);
    const provider = this.providers.get(providerName);
    if (!provider) {
      throw new AppError(
        'not_found',
        `model "${name}" not found: no provider "${providerName}" is configured`,
        {
          details: { providers: [...this.providers.keys()] },
        },
      );
    }
    const reason = this.unconfigured.get(providerName);
    if (reason) {
      // Never dialled: a vendor's endpoint with no key would only answer 401s, then open a breaker.
      throw new AppError(
        'not_found',
        `model "${name}" cannot be used: provider "${providerName}" is ${reason} in the server's environment` +
          // An Azure resource always takes its key; another endpoint may be a keyless compatible server.
          (provider.type === 'azure'
            ? ''
            : ` (or give models.providers.${providerName} a base_url of a compatible server)`),
        { details: { param: 'model', provider: providerName, reason } },
      );
    }
    const resolved: ResolvedModel = {
      id,
      provider,
      model: id.slice(slash + 1),
      price: this.config.prices[id],
      outputTokens: this.config.output_tokens[name] ?? this.config.output_tokens[id],
    };
    if (this.cache.size < 10_000) this.cache.set(name, resolved);
    return resolved;
  }

  private standInFor(name: string, mock: Provider): ResolvedModel {
    const resolved: ResolvedModel = {
      id: 'mock/default',
      provider: mock,
      model: 'default',
      standInFor: name,
    };
    this.standIn.onStandIn?.(name, resolved.id);
    if (this.cache.size < 10_000) this.cache.set(name, resolved);
    return resolved;
  }

  /** The model asked for, then its configured fallbacks (by alias or id), without repeats. */
  candidates(name: string): ResolvedModel[] {
    const primary = this.resolve(name);
    const chain = this.config.fallbacks[name] ?? this.config.fallbacks[primary.id] ?? [];
    const out = [primary];
    for (const f of chain) {
      // A fallback on a provider nobody configured is skipped, as one that is not there.
      if (this.unconfigured.has(this.providerOf(f))) continue;
      const r = this.resolve(f);
      if (!out.some((o) => o.id === r.id)) out.push(r);
    }
    return out;
  }

  private providerOf(name: string): string {
    const id = this.config.aliases[name] ?? name;
    return id.slice(0, Math.max(0, id.indexOf('/')));
  }

  /** Every model name the config knows: mock's default, priced models, aliases and fallbacks. */
  known(): string[] {
    const names = new Set<string>([this.config.default_model, 'mock/default']);
    for (const id of Object.keys(this.config.prices)) names.add(id);
    for (const [alias, target] of Object.entries(this.config.aliases)) names.add(alias).add(target);
    for (const [id, chain] of Object.entries(this.config.fallbacks)) {
      names.add(id);
      for (const f of chain) names.add(f);
    }
    return [...names].sort();
  }

  /**
   * Cost of a call the gateway did not make (a step of a trace an app sent): by the price table
   * alone, under the model's name or alias, else `provider/name`; 0 for a model it does not price.
   */
  costByName(name: string, provider: string | undefined, usage: Usage): number {
    const id = this.config.aliases[name] ?? name;
    const price = this.config.prices[id] ?? (provider ? this.config.prices[`${provider}/${id}`] : undefined);
    return this.cost({ price }, usage);
  }

  /**
   * Cost of a call in the price's currency; 0 for unpriced models. Prompt tokens read from or written
   * to the provider's cache are priced at `cache_read` / `cache_write` when the price has them.
   */
  cost(
    model: Pick<ResolvedModel, 'price'>,
    usage: Usage | Pick<Usage, 'prompt_tokens' | 'completion_tokens'>,
  ): number {
    const price = model.price;
    if (!price) return 0;
    const d = 'total_tokens' in usage ? tokenDetails(usage) : { cachedInput: 0, cacheWrite: 0 };
    // A provider's details never make the plain prompt tokens negative (they are counted in them).
    const read = Math.min(d.cachedInput, usage.prompt_tokens);
    const write = Math.min(d.cacheWrite, usage.prompt_tokens - read);
    const plain = usage.prompt_tokens - read - write;
    return (
      (plain * price.input +
        read * (price.cache_read ?? price.input) +
        write * (price.cache_write ?? price.input) +
        usage.completion_tokens * price.output) /
      1_000_000
    );
  }
}
