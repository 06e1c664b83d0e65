import { estimateTokens } from '../../models/tokens.ts';
import { traceHeadersOf } from '../../observability/spans.ts';
import { RunWriter } from '../runs/end.ts';
import type { ExecuteDeps, Executor, RunResult, RunSpec } from '../types.ts';
import type { A2ARemotes } from './remote.ts';

/**
 * Agents with `env: a2a` stand for a remote A2A agent: `runtime_url` is its card's URL, and each
 * run sends the latest user message there and records the remote answer as the run's own. The
 * remote task's ids are on the run's result (`a2a_task_id`, `a2a_context_id`).
 */
export function a2aExecutor(remotes: A2ARemotes): Executor {
  return async (deps: ExecuteDeps, run: RunSpec): Promise<RunResult> => {
    const out = new RunWriter(deps, run);
    try {
      const history = run.history ?? (await deps.store.history(run.sessionId));
      const message = [...history].reverse().find((m) => m.role === 'user')?.content ?? '';
      const answer = await remotes.ask(run.agent.runtime_url ?? '', message, {
        tenantId: run.tenantId,
        signal: run.signal,
        requestId: run.call.requestId ?? run.runId,
        trace: traceHeadersOf(
          run.call.traceId
            ? { traceId: run.call.traceId, spanId: run.call.parentSpanId, traceState: run.call.traceState }
            : undefined,
        ),
      });
      run.writer.emit('text', { delta: answer.text });
      return await out.complete({
        text: answer.text,
        model: `a2a:${run.agent.runtime_url}`,
        messages: [{ role: 'assistant', content: answer.text, tokens: estimateTokens(answer.text) }],
        extra: {
          a2a_state: answer.state,
          ...(answer.taskId && { a2a_task_id: answer.taskId }),
          ...(answer.contextId && { a2a_context_id: answer.contextId }),
        },
      });
    } catch (err) {
      return out.fail(err);
    }
  };
}
