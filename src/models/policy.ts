import { globMatch, type TenantPolicies, type TenantPolicy } from '../config/tenant-policy.ts';
import { AppError } from '../errors.ts';

/** The outcome of routing a model for a tenant: allowed, or refused by a named rule. */
export type RouteDecision = { allowed: true } | { allowed: false; rule: string };

/**
 * Per-tenant model routing from tenants.yaml: `deny` globs win over `allow` globs; with no allow list
 * everything not denied is allowed. Decisions are cached per policy object (TenantPolicies hands out
 * the same object until a reload replaces it), so the hot path is one map look-up.
 */
export class ModelPolicy {
  private readonly cache = new WeakMap<TenantPolicy, Map<string, RouteDecision>>();

  constructor(private readonly policies: TenantPolicies) {}

  decide(tenantName: string, model: string): RouteDecision {
    const policy = this.policies.get(tenantName);
    let decisions = this.cache.get(policy);
    if (!decisions) {
      decisions = new Map();
      this.cache.set(policy, decisions);
    }
    let decision = decisions.get(model);
    if (!decision) {
      decision = decideFor(policy, model);
      if (decisions.size < 10_000) decisions.set(model, decision);
    }
    return decision;
  }

  /** Throws 403 naming the rule when the tenant may not use the model. */
  check(tenantName: string, model: string): void {
    const decision = this.decide(tenantName, model);
    if (!decision.allowed) {
      throw new AppError(
        'forbidden',
        `model ${model} is not allowed for tenant ${tenantName}: ${decision.rule}`,
        {
          details: { model, rule: decision.rule },
        },
      );
    }
  }

  allowed(tenantName: string, model: string): boolean {
    return this.decide(tenantName, model).allowed;
  }
}

function decideFor(policy: TenantPolicy, model: string): RouteDecision {
  const deny = policy.models.deny.find((p) => globMatch(p, model));
  if (deny) return { allowed: false, rule: `denied by models.deny "${deny}"` };
  const allow = policy.models.allow;
  if (allow && !allow.some((p) => globMatch(p, model))) {
    return { allowed: false, rule: `not in models.allow [${allow.map((p) => `"${p}"`).join(', ')}]` };
  }
  return { allowed: true };
}
