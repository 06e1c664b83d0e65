export type HealthStatus = 'ok' | 'degraded' | 'down';
/**
 * A component's status adds `off`: turned off or not configured, by choice, which is neither a fault
 * nor healthy (a grey light, with `detail.reason` saying why and how to turn it on). It leaves the
 * whole service's status alone.
 */
export type ComponentStatus = HealthStatus | 'off';
/** The same verdict as a traffic light, for dashboards: ok → green, degraded → amber, down → red. */
export type Overall = 'green' | 'amber' | 'red';
export const overallOf = (s: HealthStatus): Overall =>
  s === 'ok' ? 'green' : s === 'degraded' ? 'amber' : 'red';

export interface ComponentHealth {
  status: ComponentStatus;
  latency_ms: number;
  /** Facts worth seeing at a glance: store kind, breaker state, isolation layers, … */
  detail?: Record<string, unknown>;
  error?: string;
}

export type CheckResult = { status?: ComponentStatus; detail?: Record<string, unknown> } | undefined;

export interface Check {
  /** A failing essential component makes the whole service `down` (503); others only `degraded`. */
  essential: boolean;
  run(): Promise<CheckResult>;
}

/**
 * One check that reports several components of a kind, named `<prefix>:<key>` (`model:openai`,
 * `mcp:github`): their set changes at run time (providers, connected servers), so they are listed
 * at each report. Never essential. When the check itself fails, `<prefix>` is reported down.
 */
export interface GroupCheck {
  run(): Promise<Record<string, CheckResult>>;
}

/**
 * Components register a check when they are built (store, live bus, queue, model providers, …);
 * `/health` runs them all in parallel, each with a deadline so one hung dependency cannot hang it.
 */
export class HealthRegistry {
  private readonly checks = new Map<string, Check>();
  private readonly groups = new Map<string, GroupCheck>();

  /** Adds (or replaces) the check called `name`; the returned function removes it again. */
  register(name: string, check: Check): () => void {
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  /** Adds (or replaces) the group of components `<prefix>:*`; the returned function removes it. */
  registerGroup(prefix: string, group: GroupCheck): () => void {
    this.groups.set(prefix, group);
    return () => {
      if (this.groups.get(prefix) === group) this.groups.delete(prefix);
    };
  }

  /** Runs the checks (only the essential ones with `essentialOnly`, for readiness probes). */
  async report(
    timeoutMs = 2000,
    essentialOnly = false,
  ): Promise<{ status: HealthStatus; components: Record<string, ComponentHealth> }> {
    // Checks and groups run side by side: a report takes as long as its slowest check, not the sum.
    const [entries, grouped] = await Promise.all([
      Promise.all(
        [...this.checks]
          .filter(([, check]) => !essentialOnly || check.essential)
          .map(async ([name, check]) => [name, await runOne(check, timeoutMs)] as const),
      ),
      essentialOnly
        ? []
        : Promise.all([...this.groups].map(([prefix, group]) => runGroup(prefix, group, timeoutMs))),
    ]);
    const all = [...entries, ...grouped.flat()];
    const components = Object.fromEntries(all);
    let status: HealthStatus = 'ok';
    for (const [name, result] of all) {
      if (result.status === 'ok' || result.status === 'off') continue;
      if (result.status === 'down' && this.checks.get(name)?.essential) status = 'down';
      else if (status === 'ok') status = 'degraded';
    }
    return { status, components };
  }
}

async function runOne(check: Check, timeoutMs: number): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      check.run(),
      new Promise<never>((_, reject) => {
        // Node's timers count whole milliseconds of the loop's clock, so one may fire up to a
        // millisecond before `timeoutMs` have passed by performance.now(): it is re-armed until then.
        const arm = () => {
          const left = started + timeoutMs - performance.now();
          if (left > 0) timer = setTimeout(arm, Math.ceil(left));
          else reject(new Error(`no answer within ${timeoutMs} ms`));
        };
        arm();
      }),
    ]);
    return {
      status: result?.status ?? 'ok',
      latency_ms: elapsed(started),
      ...(result?.detail && { detail: result.detail }),
    };
  } catch (err) {
    return { status: 'down', latency_ms: elapsed(started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

async function runGroup(
  prefix: string,
  group: GroupCheck,
  timeoutMs: number,
): Promise<Array<readonly [string, ComponentHealth]>> {
  let results: Record<string, CheckResult> = {};
  const whole = await runOne(
    {
      essential: false,
      run: async () => {
        results = await group.run();
        return undefined;
      },
    },
    timeoutMs,
  );
  if (whole.status === 'down') return [[prefix, whole]];
  return Object.entries(results).map(([key, r]) => [
    `${prefix}:${key}`,
    { status: r?.status ?? 'ok', latency_ms: whole.latency_ms, ...(r?.detail && { detail: r.detail }) },
  ]);
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 100) / 100;
