import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { parseYamlWithSchema } from './yaml.ts';

/** Budget limits: tenants.yaml's tenant-wide and per-agent entries, and an agent's own `budget`. */
export const budgetLimits = z
  .object({
    tokens_per_day: z.number().int().positive().optional(),
    tokens_per_month: z.number().int().positive().optional(),
    /** In the currency of the configured model prices (USD by convention). */
    cost_per_day: z.number().positive().optional(),
    cost_per_month: z.number().positive().optional(),
  })
  .strict();
export type BudgetLimits = z.infer<typeof budgetLimits>;

const rate = z
  .object({
    requests_per_minute: z.number().int().positive().optional(),
    tokens_per_minute: z.number().int().positive().optional(),
  })
  .strict();

/**
 * A header the egress proxy adds to requests for one domain. The value comes from the server's
 * environment or a file (never from this file): sandboxes and tool output never see it.
 */
const credential = z
  .object({
    /** Exact host (`api.example.com`) or `*.example.com`; the same rule as `egress_allow`. */
    domain: z.string().min(1),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/)
      .default('Authorization'),
    /** Put before the secret: `Bearer ` for a bearer token. */
    prefix: z.string().default(''),
    env: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => (c.env === undefined) !== (c.file === undefined), {
    message: 'give exactly one of env and file',
  });
export type EgressCredential = z.infer<typeof credential>;

/** The parts of `network` the egress proxy and the web tools read (beside `egress_allow`). */
const egressPolicy = {
  /**
   * Reach loopback and private addresses: remote agent runtimes, MCP servers, and the web tools and
   * sandboxes through the egress proxy (off: the SSRF guard of net/outbound.ts refuses them).
   */
  allow_private_egress: z.boolean().default(false),
  /** Headers injected by the proxy per domain. */
  credentials: z.array(credential).default([]),
  /** `web_search`'s endpoint: GET `url` with the query in `query_param`; its host is allowed implicitly. */
  search: z
    .object({
      url: z.url({ protocol: /^https?$/ }),
      query_param: z.string().min(1).default('q'),
    })
    .strict()
    .optional(),
};

export const tenantPolicySchema = z
  .object({
    /** Serve this tenant when the budget/limit store cannot be reached (and log it); otherwise 503. */
    fail_open: z.boolean().default(false),
    /** Model routing: glob patterns over `provider/model`; deny wins over allow; no allow list allows all. */
    models: z
      .object({ allow: z.array(z.string().min(1)).optional(), deny: z.array(z.string().min(1)).default([]) })
      .strict()
      .prefault({}),
    /**
     * Tenant-wide budgets, plus per-agent (persona) budgets keyed by agent name. An agent's own
     * `budget` (set through the API by an admin) applies beside its entry here: the stricter wins.
     */
    budgets: budgetLimits
      .extend({ agents: z.record(z.string(), budgetLimits).default({}) })
      .strict()
      .prefault({}),
    rate_limits: rate
      .extend({
        per_key: rate.optional(),
        /** Scores a `feedback` key (end users' thumbs in an app) may post per minute. */
        feedback_per_minute: z.number().int().positive().default(60),
        /** Spans an app may send a minute (POST /v1/traces), counted per tenant. */
        spans_per_minute: z.number().int().positive().default(100_000),
      })
      .strict()
      .prefault({}),
    /** A2A: publish every agent of the tenant (otherwise only agents with `visibility: public`). */
    a2a: z
      .object({ publish_all_agents: z.boolean().default(false) })
      .strict()
      .prefault({}),
    /** Outbound policy for callbacks and tools. */
    network: z
      .object({
        /** Allow callback URLs to loopback/private/link-local addresses (refused by default: SSRF). */
        allow_private_callbacks: z.boolean().default(false),
        /** Domains tools may reach through the egress proxy. */
        egress_allow: z.array(z.string()).default([]),
        ...egressPolicy,
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type TenantPolicy = z.infer<typeof tenantPolicySchema>;

export const tenantsFileSchema = z
  .object({
    /** Policy for every tenant not listed under `tenants`. */
    defaults: tenantPolicySchema.optional(),
    tenants: z.record(z.string(), tenantPolicySchema).default({}),
  })
  .strict();
export type TenantsFile = z.infer<typeof tenantsFileSchema>;

const emptyPolicy = (): TenantPolicy => tenantPolicySchema.parse({});

/** Where a tenant's policy came from: its own entry, the file's `defaults`, or the built-in default. */
export type PolicySource = 'tenant' | 'defaults' | 'builtin';

/** Reads and validates tenants.yaml; errors name the file, line, column and field. */
export function loadTenantsFile(file: string): TenantsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // A named file that is missing stops the start: serving without the policy meant would be unsafe.
    throw new AppError('config_error', `${file}: cannot read the tenants file: ${(err as Error).message}`);
  }
  return parseYamlWithSchema(text, file, tenantsFileSchema);
}

/**
 * The tenant policies in force. `reload()` re-reads the file (on SIGHUP); a file that fails
 * validation leaves the previous policies in force and the error is reported to the caller.
 */
export class TenantPolicies {
  private current: TenantsFile;
  private readonly listeners = new Set<() => void>();
  /** When the policies in force were read (start, last successful reload, or `set`). */
  loadedAt = new Date();

  /**
   * `discover`: with no file configured, the path a file may be created at later (`./tenants.yaml`
   * at start); `reload()` adopts it once it exists.
   */
  constructor(
    private configured: string | undefined,
    initial?: TenantsFile,
    private readonly discover?: string,
  ) {
    this.current = initial ?? (configured ? loadTenantsFile(configured) : { tenants: {} });
  }

  /** The file the policies come from, or the one `reload()` would adopt now; undefined: none. */
  get file(): string | undefined {
    if (this.configured) return this.configured;
    return this.discover && existsSync(this.discover) ? this.discover : undefined;
  }

  /** The policy for a tenant, by name: its own entry, else `defaults`, else the built-in default. */
  get(tenantName: string): TenantPolicy {
    return this.resolve(tenantName).policy;
  }

  /** The policy for a tenant and where it came from. */
  resolve(tenantName: string): { policy: TenantPolicy; source: PolicySource } {
    // Own-property check: a tenant named "constructor" must not find Object.prototype's.
    if (Object.hasOwn(this.current.tenants, tenantName)) {
      return { policy: this.current.tenants[tenantName]!, source: 'tenant' };
    }
    if (this.current.defaults) return { policy: this.current.defaults, source: 'defaults' };
    return { policy: emptyPolicy(), source: 'builtin' };
  }

  /** Re-reads the file. Throws (and keeps the old policies) if it is invalid. */
  reload(): void {
    const file = this.file;
    if (!file) return;
    this.replace(loadTenantsFile(file));
    // Adopted only once it is valid: an invalid first file leaves none in force, as before it.
    this.configured = file;
  }

  /** Replaces the policies directly (tests and embedding); defaults are filled in as for the file. */
  set(next: z.input<typeof tenantsFileSchema>): void {
    this.replace(tenantsFileSchema.parse(next));
  }

  private replace(next: TenantsFile): void {
    this.current = next;
    this.loadedAt = new Date();
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Glob match where `*` is any run of characters (including `/`) and `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}
