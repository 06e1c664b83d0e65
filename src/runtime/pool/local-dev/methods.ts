import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RunWriter } from '../../runs/end.ts';
import { runIdempotencyKey } from '../../runs/rows.ts';
import type { ToolCallRecord } from '../../schema.ts';
import type { ExecuteDeps, RunSpec } from '../../types.ts';
import { BridgeError, type BridgeMethod } from './bridge.ts';

const message = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string().max(1_000_000).nullable(),
    name: z.string().max(200).optional(),
    tool_call_id: z.string().max(200).optional(),
  })
  .strict();

const chatParams = z
  .object({
    messages: z.array(message).min(1).max(1000),
    model: z.string().min(1).max(200).optional(),
    max_tokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

const toolParams = z
  .object({ name: z.string().min(1).max(200), args: z.record(z.string(), z.unknown()).default({}) })
  .strict();

function parse<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new BridgeError(`${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * What a local-dev agent's `ctx` can ask of the host, on behalf of one run: model calls through the
 * gateway (the run's tenant, budgets and policy; at most `max_steps` per run) and the agent's own
 * tools. Each call is written as a step of the run as it finishes, and tool calls are streamed as
 * `tool_call` / `tool_result` events like the loop's.
 */
export function bridgeMethods(
  deps: ExecuteDeps,
  run: RunSpec,
  out: RunWriter,
  toolCalls: ToolCallRecord[],
): Record<string, BridgeMethod> {
  let modelCalls = run.modelCalls;
  return {
    'model.chat': async (raw) => {
      const p = parse(chatParams, raw, 'ctx.model.chat');
      if (modelCalls >= run.options.max_steps)
        throw new BridgeError(`this run already made max_steps (${run.options.max_steps}) model calls`);
      modelCalls++;
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      const answer = await deps.models.complete(
        {
          model: p.model ?? run.agent.model,
          messages: p.messages,
          ...(p.max_tokens !== undefined && { max_tokens: p.max_tokens }),
          ...(p.temperature !== undefined && { temperature: p.temperature }),
        },
        { ...run.call, signal: run.signal },
      );
      await out.commit({
        steps: [
          {
            kind: 'model',
            name: answer.model,
            input: { messages: p.messages.length, from: 'handle' },
            output: { content: answer.message.content, finish_reason: answer.finish_reason },
            usage: answer.usage,
            started_at: startedAt,
            duration_ms: round2(performance.now() - t0),
          },
        ],
        modelCalls: 1,
        usage: answer.usage,
      });
      return {
        content: answer.message.content,
        finish_reason: answer.finish_reason,
        model: answer.model,
        usage: answer.usage,
      };
    },

    'tools.call': async (raw) => {
      const p = parse(toolParams, raw, 'ctx.tools.call');
      if (!run.agent.tools.includes(p.name)) {
        const own = run.agent.tools.join(', ') || 'none';
        throw new BridgeError(`tool ${p.name} is not one of agent ${run.agent.name}'s tools (${own})`);
      }
      if (run.agent.mode === 'COLLABORATIVE' && deps.tools.get(p.name)?.requires_approval)
        throw new BridgeError(`tool ${p.name} needs a person's approval, which handle cannot wait for`);
      const id = `call_${randomUUID().replaceAll('-', '')}`;
      run.writer.emit('tool_call', { id, name: p.name, arguments: p.args });
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      const outcome = await deps.tools.execute(p.name, JSON.stringify(p.args), {
        tenantId: run.tenantId,
        sessionId: run.sessionId,
        runId: run.runId,
        workspace: run.workspace,
        // The handle's calls in order: a re-run that makes the same calls gets the same keys.
        idempotencyKey: `${runIdempotencyKey(run.runId, run.options)}:handle.${toolCalls.length}`,
        signal: run.signal,
      });
      const durationMs = round2(performance.now() - t0);
      const result = outcome.ok ? { output: outcome.output } : { error: outcome.error };
      run.writer.emit('tool_result', { id, name: p.name, ...result, duration_ms: durationMs });
      toolCalls.push({ id, name: p.name, arguments: p.args, ...result });
      await out.commit({
        steps: [
          {
            kind: 'tool',
            name: p.name,
            tool_call_id: id,
            input: p.args,
            ...result,
            started_at: startedAt,
            duration_ms: durationMs,
          },
        ],
      });
      if (!outcome.ok) throw new BridgeError(outcome.error);
      return outcome.output;
    },

    'tools.list': async () =>
      deps.tools.specs(run.agent.tools).map((t) => ({
        name: t.function.name,
        description: t.function.description,
        parameters: t.function.parameters,
      })),
  };
}
