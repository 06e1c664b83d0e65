import type { Agent } from '../agents/schema.ts';
import { AppError, toError, unlessNotFound } from '../errors.ts';
import type { Host } from './host.ts';
import { continued, failStarted, launch, startQueued } from './launch.ts';
import { agentBeforeResume, agentOfRun } from './run-agent.ts';
import { event } from './runs/events.ts';
import type { RunRow } from './runs/rows.ts';
import { toRun } from './runs/rows.ts';
import type { TakenOver } from './runs/store.ts';
import { type Run, runSchema } from './schema.ts';
import type { RunCaller } from './types.ts';

/**
 * Carrying runs on in this process from their last recorded step (docs/durability.md): those whose
 * executor died or drained (taken over by the sweep), and an `interrupted` one a person resumes.
 */

/**
 * Takes over the runs whose executor is gone (all running ones at the start of an embedded store,
 * else those whose lease expired or was released) and carries each on from its last recorded
 * step; then starts the queued runs nothing holds up.
 */
export async function sweep(host: Host, all: boolean): Promise<void> {
  if (host.stopping()) return;
  const taken = await host.store.takeOver(all, host.owner, host.deps.config.lease_seconds);
  if (taken.length > 0) host.deps.log.info({ runs: taken.map((r) => r.id) }, 'took over runs');
  for (const row of taken) {
    await carryOnTaken(host, row).catch((err) =>
      host.deps.log.warn({ err: toError(err), run_id: row.id }, 'carrying a run on failed'),
    );
  }
  for (const sessionId of await host.store.sessionsWithQueued()) startQueued(host, sessionId);
}

/**
 * A poison pill: a run whose executors keep dying or blocking (a tool or an input that brings the
 * process down or holds its event loop, so it stops renewing the lease) is not handed from one
 * process to the next for ever. Taken over `runtime.max_takeovers` times in a row without
 * recording a step, it fails as `poisoned` at the next takeover. Drains do not count.
 */
function carryOnTaken(host: Host, row: TakenOver): Promise<void> {
  const max = host.deps.config.max_takeovers;
  if (!row.released && row.takeovers >= max) {
    host.deps.metrics?.poisoned();
    host.deps.log.warn({ run_id: row.id, takeovers: row.takeovers }, 'run failed as poisoned');
    return failStarted(
      host,
      row,
      'poisoned',
      `the run was taken over ${row.takeovers} times without recording a step (its processes died or ` +
        `stopped answering); it is not taken over again (runtime.max_takeovers: ${max})`,
    );
  }
  // Still executing here (this process stalled past its own lease): the lease is ours again.
  if (host.live.has(row.id)) return Promise.resolve();
  return carryOn(host, row, { rerun: false, by: 'takeover', after: row.released ? 'release' : 'crash' });
}

/** Executes a run this process has just leased (taken over or resumed) from its last recorded step. */
async function carryOn(
  host: Host,
  row: RunRow,
  options: {
    rerun: boolean;
    by: 'takeover' | 'resume';
    after?: 'release' | 'crash';
    caller?: RunCaller;
    /** The run's agent, when the caller has read it already. */
    agent?: Agent;
  },
): Promise<void> {
  const agent = options.agent ?? (await agentOfRun(host, row).catch(unlessNotFound));
  if (!agent) return failStarted(host, row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
  const caller = options.caller ?? {
    tenantId: row.tenant_id,
    tenantName: await host.deps.tenantName(row.tenant_id),
  };
  // Tells followers where the run carries on: text deltas since the last recorded model answer
  // belonged to a call that was never answered, and the model is asked again.
  const written = await host.store.advance({
    runId: row.id,
    owner: host.owner,
    events: [
      event('run_resumed', {
        by: options.by,
        ...(options.after && { after: options.after }),
        model_calls: row.model_calls,
        steps: row.step_count,
      }),
    ],
  });
  if (!written) return;
  host.announcer.add(row.id);
  launch(host, caller, agent, {
    ...continued(row),
    takeover: { rerun: options.rerun },
    lastSeq: written.events.at(-1)?.seq ?? -1,
  });
}

/**
 * Resumes an `interrupted` run: the tool calls that were in flight when its process died run
 * again (a person decided they may), and the run carries on. 409 when it is not interrupted.
 */
export async function resumeInterrupted(host: Host, caller: RunCaller, runId: string): Promise<Run> {
  if (host.stopping()) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
  const agent = await agentBeforeResume(host, caller, runId);
  const row = await host.store.resume(
    caller.tenantId,
    runId,
    host.owner,
    host.deps.config.lease_seconds,
    'interrupted',
  );
  // One that is gone is read again there, and the run fails as agent_gone.
  await carryOn(host, row, {
    rerun: true,
    by: 'resume',
    caller,
    agent: agent instanceof AppError ? undefined : agent,
  });
  return runSchema.parse(toRun({ ...row, status: 'running', pending: null }));
}
