import { z } from 'zod';
import { AppError } from '../errors.ts';
import { stringList } from './string-list.ts';

/**
 * The earlier systems whose HTTP contracts Agentry serves (src/http/compat/), each switched by
 * `compat.<family>` in agentry.yaml or `AGENTRY_COMPAT_<FAMILY>`. The config fields, their
 * variables and `CompatFamily` come from this list; each family has its route file(s) and its entry
 * in `http/compat/index.ts`, which the compiler holds to exactly these names, and its row in
 * docs/compat.md (docs/architecture.md, "Adding a compat family").
 */
export const compatFamilies = ['isa', 'zahara', 'zora', 'soma', 'pagi'] as const;
export type CompatFamily = (typeof compatFamilies)[number];

/** Unset: on with the embedded store, off on PostgreSQL (`compatEnabled`). */
const familySwitch = z.union([z.boolean(), z.stringbool()]).optional();
const switches = Object.fromEntries(compatFamilies.map((f) => [f, familySwitch])) as Record<
  CompatFamily,
  typeof familySwitch
>;

/** `compat.*`: a switch per family and the settings some families need. */
export const compatConfig = z
  .object({
    ...switches,
    /** How long an instance acquired from isA's pool routes is held without a call before it is released. */
    isa_pool_idle_ms: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
    /** Instances one user (or key) may hold at once through isA's pool routes; more answer 429. */
    isa_pool_max_per_user: z.coerce.number().int().min(1).max(1000).default(8),
    /** The agent `POST /execute` runs when the request names none (created from a template if missing). */
    default_agent: z.string().min(1).max(200).default('default'),
    /**
     * Which family serves `POST /run`, a path two of them define: Zahara's runtime or PAGI's alias
     * of `/plan` (`AGENTRY_COMPAT_RUN_OWNER`). Unset: Zahara when it is on, else PAGI. Naming a
     * family that is off stops the start with an error.
     */
    run_owner: z.enum(['zahara', 'pagi']).optional(),
    /** PAGI's `REQUEST_TIMEOUT_SECONDS`: a plan not answered within it is cancelled (504). Unset: none. */
    pagi_request_timeout_seconds: z.coerce.number().positive().max(3600).optional(),
    /**
     * PAGI's `PAGI_API_KEY`: set, PAGI's routes need a credential even in dev auth mode, as PAGI's
     * planner then did. Any string, as PAGI's deployments have it: it becomes a key of the default
     * tenant with the `pagi` scope (PAGI's routes only), which PAGI's clients send as X-API-Key
     * (`pagiImportedKey`); an Agentry key (agk_…) is taken as that key instead.
     */
    pagi_api_key: z.string().min(1).max(4096).optional(),
    /**
     * SomaAgent01's delegations that its downstream workers run: a task delegated on one of these
     * topics (`AGENTRY_SOMA_EXTERNAL_TOPICS`) or of one of these task types
     * (`AGENTRY_SOMA_EXTERNAL_TASK_TYPES`) waits for the worker's `POST /callback` and is never run
     * by Agentry's workers. Neither set: every delegation runs here.
     */
    soma_external: z.object({ topics: stringList, task_types: stringList }).strict().prefault({}),
  })
  .strict()
  .prefault({});

/** `AGENTRY_COMPAT_<FAMILY>` for each family's switch. */
export const compatSwitchVariables = compatFamilies.map((f): [string, string[]] => [
  `AGENTRY_COMPAT_${f.toUpperCase()}`,
  ['compat', f],
]);

/** The family that serves `POST /run`, if any; one named but switched off is a start-up error. */
export function runOwner(config: {
  compat: Partial<Record<CompatFamily, boolean>> & { run_owner?: 'zahara' | 'pagi' };
  store: { database_url?: string };
}): 'zahara' | 'pagi' | undefined {
  const chosen = config.compat.run_owner;
  if (chosen) {
    if (!compatEnabled(config, chosen))
      throw new AppError(
        'config_error',
        `compat.run_owner (AGENTRY_COMPAT_RUN_OWNER) gives POST /run to ${chosen}, but compat.${chosen} is off: turn it on or choose the other family`,
      );
    return chosen;
  }
  if (compatEnabled(config, 'zahara')) return 'zahara';
  return compatEnabled(config, 'pagi') ? 'pagi' : undefined;
}

/** Whether a compatibility family is served: its switch, else on with the embedded store only. */
export function compatEnabled(
  config: { compat: Partial<Record<CompatFamily, boolean>>; store: { database_url?: string } },
  family: CompatFamily,
): boolean {
  return config.compat[family] ?? !config.store.database_url;
}

/**
 * The value of `PAGI_API_KEY` to import as the default tenant's PAGI key, when PAGI is on and the
 * value is PAGI's own (any string); an Agentry key (agk_…) is an Agentry key, imported as nothing.
 */
export function pagiImportedKey(config: {
  compat: Partial<Record<CompatFamily, boolean>> & { pagi_api_key?: string };
  store: { database_url?: string };
}): string | undefined {
  const value = config.compat.pagi_api_key;
  if (value === undefined || value.startsWith('agk_') || !compatEnabled(config, 'pagi')) return undefined;
  return value;
}
