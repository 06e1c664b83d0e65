import { estimateTokens } from '../models/tokens.ts';
import { traceparentOf } from '../observability/spans.ts';
import type { A2ARemotes } from './a2a-remote.ts';
import type { ExecuteDeps, RunResult, RunSpec } from './execute.ts';
import { RunWriter } from './run-end.ts';
import type { Executor } from './runtime-types.ts';

/**
 * Agents with `env: a2a` stand for a remote A2A agent: `runtime_url` is its card's URL, and each
 * run sends the latest user message there and records the remote answer as the run's own. The
 * remote task's ids are on the run's result (`a2a_task_id`, `a2a_context_id`).
 */
export function a2aExecutor(remotes: A2ARemotes): Executor {
  return async (d: ExecuteDeps, s: RunSpec): Promise<RunResult> => {
    const out = new RunWriter(d, s);
    try {
      const history = s.history ?? (await d.store.history(s.sessionId));
      const message = [...history].reverse().find((m) => m.role === 'user')?.content ?? '';
      const answer = await remotes.ask(s.agent.runtime_url ?? '', message, {
        tenantId: s.tenantId,
        signal: s.signal,
        requestId: s.call.requestId ?? s.runId,
        traceparent: traceparentOf(
          s.call.traceId ? { traceId: s.call.traceId, spanId: s.call.parentSpanId } : undefined,
        ),
      });
      s.writer.emit('text', { delta: answer.text });
      return await out.complete({
        text: answer.text,
        model: `a2a:${s.agent.runtime_url}`,
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
