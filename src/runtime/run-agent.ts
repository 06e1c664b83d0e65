import type { Agent } from '../agents/schema.ts';
import { agentAtVersion } from '../agents/versions.ts';
import { type AppError, isNotFound } from '../errors.ts';
import type { Host } from './host.ts';
import type { RunRow } from './runs/rows.ts';
import type { RunCaller } from './types.ts';

/** Which agent a run runs: its latest config, or the version it pinned or recorded. */

/**
 * The agent as at `version` over its latest row (identity and visibility stay the latest's):
 * versions never change, so each is read once per process.
 */
export async function pinned(host: Host, latest: Agent, version: number | undefined): Promise<Agent> {
  if (version === undefined || version === latest.version) return latest;
  const key = `${latest.tenant_id}:${latest.id}@${version}`;
  let config = host.versions.get(key);
  if (!config) {
    config = await host.deps.agents.at(latest.tenant_id, latest.id, version);
    if (host.versions.size >= 1000) host.versions.delete(host.versions.keys().next().value!);
    host.versions.set(key, config);
  }
  return agentAtVersion(latest, { version, config });
}

/** The agent a recorded run runs: the version it recorded (a run from before versions: the latest). */
export async function agentOfRun(
  host: Host,
  row: Pick<RunRow, 'tenant_id' | 'agent_id' | 'agent_version'>,
): Promise<Agent> {
  const latest = await host.deps.agents.get(row.tenant_id, row.agent_id);
  return pinned(host, latest, row.agent_version ?? undefined);
}

/**
 * Reads a waiting run's agent before the run is taken to resume it: a store that fails this read
 * leaves the run waiting, and the caller's retry finds it so. An agent that is gone comes back as
 * its not_found error: the run is taken and fails as `agent_gone`.
 */
export async function agentBeforeResume(
  host: Host,
  caller: RunCaller,
  runId: string,
): Promise<Agent | AppError> {
  return agentOfRun(host, await host.store.get(caller.tenantId, runId)).catch((err: unknown) => {
    if (isNotFound(err)) return err;
    throw err;
  });
}
