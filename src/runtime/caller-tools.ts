import type { Agent } from '../agents/schema.ts';
import { AppError } from '../errors.ts';
import type { Usage } from '../models/types.ts';
import type { Host } from './host.ts';
import { continued, failStarted, launch, startQueued } from './launch.ts';
import { agentBeforeResume } from './run-agent.ts';
import { event } from './runs/events.ts';
import type { RunCaller, RunHandle, StartInput } from './types.ts';

/**
 * The caller's own tools (sent with a chat request): admitted beside the agent's, waited on when the
 * model calls them, supplied by the caller's next request, and expired when it never comes.
 */

/**
 * The caller's tools join the agent's own in the loop that runs here: a name the agent has
 * already, or two of the caller's with one name, is a 400 naming it; an agent that runs elsewhere
 * (remote, a pool, a team) has no loop to offer them in.
 */
export async function admitCallerTools(
  host: Host,
  tenantId: string,
  agent: Agent,
  input: StartInput,
): Promise<void> {
  if (input.multiAgent || (agent.env !== 'in_process' && agent.env !== 'cloud_shared')) {
    throw new AppError(
      'bad_request',
      `tools: agent ${agent.name} runs outside this server's loop (env ${agent.env}) and takes no tools of the caller's`,
    );
  }
  const own = new Set((await host.deps.tools.specsFor(tenantId, agent.tools)).map((t) => t.function.name));
  const seen = new Set<string>();
  for (const t of input.callerTools ?? []) {
    const name = t.function.name;
    if (own.has(name)) {
      throw new AppError(
        'bad_request',
        `tools: ${name} is also a tool of agent ${agent.name}; give the caller's tool another name`,
        { details: { param: 'tools', tool: name } },
      );
    }
    if (seen.has(name))
      throw new AppError('bad_request', `tools: ${name} is sent twice`, {
        details: { param: 'tools', tool: name },
      });
    seen.add(name);
  }
}

/**
 * Resumes a run that waits on its caller's tool results, as an approval resumes one: the results
 * (by call id) become the calls' outputs, the turn's other calls run, and the loop carries on in
 * the same run. 400 when a result the run waits on is missing; 409 when it no longer waits or a
 * person's approval is still due.
 */
export async function supplyToolResults(
  host: Host,
  caller: RunCaller,
  runId: string,
  results: ReadonlyMap<string, string>,
): Promise<RunHandle> {
  if (host.stopping()) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
  const waiting = await host.store.get(caller.tenantId, runId);
  const callerNames = new Set((waiting.options.caller_tools ?? []).map((t) => t.function.name));
  const pending = waiting.pending ?? [];
  const missing = pending.find((c) => callerNames.has(c.function.name) && !results.has(c.id));
  if (missing) {
    throw new AppError(
      'bad_request',
      `messages: run ${runId} waits on the result of tool call ${missing.id} (${missing.function.name}); send a tool message for it`,
      { details: { run_id: runId, tool_call_id: missing.id } },
    );
  }
  if (!pending.some((c) => callerNames.has(c.function.name))) {
    throw new AppError('conflict', `run ${runId} waits for a person's approval, not for tool results`, {
      details: { run_id: runId },
    });
  }
  const agent = await agentBeforeResume(host, caller, runId);
  const row = await host.store.resume(caller.tenantId, runId, host.owner, host.deps.config.lease_seconds);
  if (agent instanceof AppError) {
    await failStarted(host, row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
    throw agent;
  }
  const supplied = new Map(pending.filter((c) => results.has(c.id)).map((c) => [c.id, results.get(c.id)!]));
  // Followers see where the run carries on: what came before was the answer the caller has.
  const written = await host.store.advance({
    runId,
    owner: host.owner,
    events: [event('tool_results', { tool_calls: [...supplied.keys()] })],
  });
  if (!written) throw new AppError('conflict', `run ${runId} was ended meanwhile`);
  host.announcer.add(runId);
  const live = launch(host, caller, agent, {
    ...continued(row),
    resume: { toolCalls: pending, approved: true, supplied, pausedAt: row.paused_at },
    lastSeq: written.events.at(-1)?.seq ?? -1,
  });
  return {
    sessionId: row.session_id,
    runId,
    status: 'running',
    events: written.events,
    // The tokens of this stretch only: the caller was told the earlier ones with the tool calls.
    result: () => live.done.then((r) => ({ ...r, usage: usageSince(r.usage, row.usage) })),
  };
}

/**
 * A run that waits only on its caller's tool results has nothing for a person to approve: 409
 * (its caller's next request resumes it, or it expires).
 */
export async function refuseCallerWait(
  host: Host,
  tenantId: string,
  runId: string,
  agent: Agent,
): Promise<void> {
  const row = await host.store.get(tenantId, runId);
  const callerNames = new Set((row.options.caller_tools ?? []).map((t) => t.function.name));
  if (callerNames.size === 0 || row.status !== 'input_required') return;
  const approvable = (row.pending ?? []).some(
    (c) => agent.mode === 'COLLABORATIVE' && host.deps.tools.get(c.function.name)?.requires_approval === true,
  );
  if (!approvable) {
    throw new AppError(
      'conflict',
      `run ${runId} waits on its caller's tool results, not on an approval: the caller's next request with them resumes it`,
      { details: { status: row.status } },
    );
  }
}

/** Cancels (code `expired`) the runs whose caller sent no tool results within the setting. */
export async function expireCallerWaits(host: Host): Promise<void> {
  if (host.stopping()) return;
  const seconds = host.deps.config.caller_tool_wait_seconds;
  for (const run of await host.store.callerWaitsPast(seconds)) {
    const message = `the caller sent no tool results within runtime.caller_tool_wait_seconds (${seconds} s)`;
    if (!(await host.store.expire(run.id, message))) continue;
    host.announcer.add(run.id);
    const row = await host.store.get(run.tenant_id, run.id);
    startQueued(host, row.session_id);
  }
}

function usageSince(total: Usage, before: Usage): Usage {
  const prompt = Math.max(0, total.prompt_tokens - before.prompt_tokens);
  const completion = Math.max(0, total.completion_tokens - before.completion_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
