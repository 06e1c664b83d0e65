import type { ToolCall, Usage } from '../../models/types.ts';
import type { ExecuteDeps, RunResult, RunSpec } from '../types.ts';
import { event, type PendingEvent } from './events.ts';
import { interruptedMessage } from './recovery.ts';
import { toRecord } from './rows.ts';
import type { Advance } from './store.ts';

/**
 * Gives the run's lease up at shutdown, leaving it `running` from its last recorded step: another
 * process (told through the bus) takes it over at once.
 */
export async function release(
  deps: Pick<ExecuteDeps, 'store' | 'owner' | 'log'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  usage: Usage,
): Promise<RunResult> {
  await recordStep(deps, run, { release: true }, [], true).catch((e) =>
    deps.log.warn({ err: e, run_id: run.runId }, 'could not release the run'),
  );
  const error = { code: 'released', message: 'this process shut down; another one carries the run on' };
  return { status: 'failed', error, usage };
}

/**
 * A taken-over run whose calls in flight at the death may not run twice: it stops as `interrupted`,
 * the calls kept in `pending` (with their arguments) for a person to resume or cancel it.
 */
export async function interrupt(
  deps: Pick<ExecuteDeps, 'store' | 'owner'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  calls: ToolCall[],
  usage: Usage,
): Promise<RunResult> {
  const error = { code: 'interrupted', message: interruptedMessage(calls) };
  await recordStep(deps, run, { status: 'interrupted', error, pending: calls }, [
    event('interrupted', { ...error, tool_calls: calls.map(toRecord) }),
  ]);
  return { status: 'failed', error, usage };
}

/** A run's step or end as `RunStore.advance` writes it, less what `recordStep` adds. */
export type Step = Omit<Advance, 'runId' | 'owner' | 'events'>;

/**
 * Records a run's step or end with the events still buffered, then `extra`, through its writer (one
 * statement at a time per run); undefined when the run is no longer this process's.
 */
export function recordStep(
  deps: Pick<ExecuteDeps, 'store' | 'owner'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  step: Step,
  extra: PendingEvent[] = [],
  afterFailure = false,
) {
  return run.writer.record(
    (buffered) =>
      deps.store.advance({ ...step, runId: run.runId, owner: deps.owner, events: [...buffered, ...extra] }),
    afterFailure,
  );
}

/**
 * Records a run's step as its executor goes (or its end) and, when the run ended with others waiting
 * behind it in its session, lets the next one start; false when the run is no longer this process's.
 */
export async function finishStep(
  deps: Pick<ExecuteDeps, 'store' | 'owner' | 'onQueued'>,
  run: Pick<RunSpec, 'runId' | 'sessionId' | 'writer'>,
  step: Step,
  extra: PendingEvent[] = [],
  afterFailure = false,
): Promise<boolean> {
  const written = await recordStep(deps, run, step, extra, afterFailure);
  if (!written) return false;
  if (step.status && step.status !== 'input_required' && written.queued) deps.onQueued(run.sessionId);
  return true;
}
