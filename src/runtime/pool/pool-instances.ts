import { newId } from '../../db/ids.ts';
import { AppError, notFound } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';

/** `agent`: the tools' warm pool; `custom_agent`: the local-dev agents' pool. */
export type InstanceType = 'agent' | 'custom_agent';

/** A warm-pool sandbox held for one caller, with the agent and conversation it serves. */
export interface Instance {
  id: string;
  type: InstanceType;
  tenantId: string;
  /** The user (or key) that acquired it: nobody else finds it. */
  holder: string;
  agentId: string;
  agentName: string;
  /** The conversation its calls continue; set by the first call when the caller named none. */
  sessionId?: string;
  /** The client's own name for that conversation (isA's `session_id`), shown back as sent. */
  sessionKey?: string;
  acquiredAt: Date;
  lastUsedAt: Date;
  /** Calls under way: an instance is never released by the idle timer while one runs. */
  calls: number;
}

interface Held extends Instance {
  release: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * Instances acquired from a warm pool and held for their caller (isA's pool manager contract): each
 * holds one sandbox of the pool, so the pool's statistics count it busy and other calls cannot take
 * it, until its caller releases it or it has been idle for `idleMs`. Held per process, as isA's pool
 * manager holds them: an instance lives in the process that acquired it.
 */
export class PoolInstances {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly idleMs: number,
    /** Instances one caller may hold at once: nobody drains a warm pool alone. */
    private readonly maxPerHolder: number,
    private readonly log: Logger,
  ) {}

  /** Refuses (429) a caller that already holds its share of instances. */
  assertRoom(tenantId: string, holder: string): void {
    let mine = 0;
    for (const i of this.held.values()) if (i.tenantId === tenantId && i.holder === holder) mine++;
    if (mine >= this.maxPerHolder)
      throw new AppError(
        'rate_limited',
        `you hold ${mine} pool instances, the most allowed (compat.isa_pool_max_per_user): release one first`,
        { retryAfter: Math.ceil(this.idleMs / 1000) },
      );
  }

  /** Records an instance around a sandbox already taken from its pool (`release` gives it back). */
  add(
    fields: Omit<Instance, 'id' | 'acquiredAt' | 'lastUsedAt' | 'calls'> & { release: () => void },
  ): Instance {
    const now = new Date();
    const instance: Held = { ...fields, id: newId(), acquiredAt: now, lastUsedAt: now, calls: 0 };
    this.held.set(instance.id, instance);
    this.arm(instance);
    return view(instance);
  }

  /** The caller's instance of that type; another caller's, or a released one, is not found. */
  get(type: InstanceType, id: string, tenantId: string, holder: string): Instance {
    return view(this.find(type, id, tenantId, holder));
  }

  /** Runs `call` on the instance, which stays held (and its idle clock stopped) meanwhile. */
  async use<T>(
    type: InstanceType,
    id: string,
    tenantId: string,
    holder: string,
    call: (instance: Instance) => Promise<T>,
  ): Promise<T> {
    const instance = this.find(type, id, tenantId, holder);
    instance.calls++;
    clearTimeout(instance.timer);
    try {
      return await call(view(instance));
    } finally {
      instance.calls--;
      instance.lastUsedAt = new Date();
      if (this.held.get(instance.id) === instance) this.arm(instance);
    }
  }

  /** Remembers the conversation an instance's first call started. */
  setSession(id: string, sessionId: string | undefined): void {
    const instance = this.held.get(id);
    if (!instance) return;
    // Another conversation (a reset) is no longer the one the client's key names.
    if (instance.sessionId !== sessionId) instance.sessionKey = undefined;
    instance.sessionId = sessionId;
  }

  release(type: InstanceType, id: string, tenantId: string, holder: string): void {
    this.drop(this.find(type, id, tenantId, holder));
  }

  /** Gives every held sandbox back (shutdown). */
  stop(): void {
    for (const instance of [...this.held.values()]) this.drop(instance);
  }

  private find(type: InstanceType, id: string, tenantId: string, holder: string): Held {
    const instance = this.held.get(id);
    if (!instance || instance.type !== type || instance.tenantId !== tenantId || instance.holder !== holder)
      throw notFound('instance', id);
    return instance;
  }

  private arm(instance: Held): void {
    clearTimeout(instance.timer);
    instance.timer = setTimeout(() => {
      if (instance.calls > 0) return; // `use` re-arms when its call ends
      this.log.info({ instance: instance.id, type: instance.type }, 'released an idle pool instance');
      this.drop(instance);
    }, this.idleMs);
    instance.timer.unref();
  }

  private drop(instance: Held): void {
    clearTimeout(instance.timer);
    if (this.held.delete(instance.id)) instance.release();
  }
}

const view = ({ release: _, timer: __, ...instance }: Held): Instance => ({ ...instance });
