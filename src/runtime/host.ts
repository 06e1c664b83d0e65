import type { Agent } from '../agents/schema.ts';
import type { AgentCache } from './runs/agent-cache.ts';
import type { Announcer, RunEventWriter } from './runs/events.ts';
import type { RunStore } from './runs/store.ts';
import type { RunResult, RuntimeDeps } from './types.ts';

/** A run executing in this process. */
export interface LiveRun {
  controller: AbortController;
  writer: RunEventWriter;
  done: Promise<RunResult>;
}

/**
 * What the runtime's rooms (start.ts, launch.ts, takeover.ts, caller-tools.ts) share: one per
 * process, held by the Runtime (runtime.ts).
 */
export interface Host {
  readonly deps: RuntimeDeps;
  readonly store: RunStore;
  /** Identifies this process in `runs.lease_owner`. */
  readonly owner: string;
  readonly live: Map<string, LiveRun>;
  readonly announcer: Announcer;
  /** Agent configs between turns; each run's first statement checks the version it used. */
  readonly agents: AgentCache;
  /** Agents as at a pinned version, by `tenant:id@version` (versions are immutable). */
  readonly versions: Map<string, Agent>;
  /** Aborted at shutdown: runs stop at their next step boundary and release their leases. */
  readonly draining: AbortSignal;
  /** True once the runtime began to stop: it takes no new work. */
  stopping(): boolean;
}
