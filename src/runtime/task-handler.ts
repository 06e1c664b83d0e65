import type { Agent } from '../agents/schema.ts';
import { AppError } from '../errors.ts';
import type { ModelGateway } from '../models/types.ts';
import { type HandlerResult, NonRetryableError, type TaskHandler } from '../tasks/handlers.ts';
import type { ClaimedTask } from '../tasks/rows.ts';

export interface AgentTaskDeps {
  agents: { get(tenantId: string, id: string): Promise<Agent> };
  models: ModelGateway;
  /** The tenant's name, for model policy and budgets (they are keyed by name). */
  tenantName(tenantId: string): Promise<string>;
}

const DEFAULT_TEMPLATE = '{{title}}\n\n{{description}}\n\nInput:\n{{payload}}';

/** Agents whose work runs elsewhere: their tasks are reported through POST /v1/tasks/:id/callback. */
const NOT_IN_PROCESS = new Set(['remote', 'multi_agent']);

/**
 * Renders a task type's prompt template. Placeholders: `{{title}}`, `{{description}}`,
 * `{{task_type}}`, `{{payload}}` (the whole payload as JSON) and `{{payload.a.b}}` (one field;
 * objects as JSON). Unknown placeholders render empty. Nothing is evaluated: this is substitution only.
 */
export function renderTaskPrompt(
  template: string,
  task: Pick<ClaimedTask, 'title' | 'description' | 'task_type' | 'payload'>,
) {
  return template.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, path: string) => {
    const [head, ...rest] = path.split('.');
    let value: unknown;
    if (head === 'payload') {
      value = task.payload;
      for (const key of rest)
        value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    } else if (rest.length === 0 && (head === 'title' || head === 'description' || head === 'task_type')) {
      value = task[head];
    }
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  });
}

/**
 * The queue's default handler: runs the agent on the task. Until the full agent loop exists this
 * is one model call through the gateway (which applies routing, budgets and usage): the agent's
 * system prompt, then the task rendered through its task type's prompt template. The answer is the
 * task's `result` (with model and usage) and, shortened, its `result_summary`.
 */
export function agentTaskHandler(deps: AgentTaskDeps): TaskHandler {
  return async (task, ctx): Promise<HandlerResult> => {
    let agent: Agent;
    try {
      agent = await deps.agents.get(task.tenant_id, task.agent_id);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        throw new NonRetryableError(`agent ${task.agent_id} no longer exists`);
      }
      throw err;
    }
    if (NOT_IN_PROCESS.has(agent.env)) {
      throw new NonRetryableError(
        `agent ${agent.name} runs outside this process (env ${agent.env}): no runnable handler here; ` +
          'its runtime reports results through POST /v1/tasks/:id/callback',
      );
    }
    const type = agent.task_types.find((t) => t.name === task.task_type);
    const prompt = renderTaskPrompt(type?.prompt_template ?? DEFAULT_TEMPLATE, task);
    try {
      const completion = await deps.models.complete(
        {
          model: agent.model,
          messages: [
            ...(agent.system_prompt ? [{ role: 'system' as const, content: agent.system_prompt }] : []),
            { role: 'user' as const, content: prompt },
          ],
        },
        {
          tenantId: task.tenant_id,
          tenantName: await deps.tenantName(task.tenant_id),
          agentId: agent.id,
          agentName: agent.name,
          signal: ctx.signal,
        },
      );
      const answer = completion.message.content ?? '';
      return {
        result: {
          answer,
          model: completion.model,
          finish_reason: completion.finish_reason,
          usage: completion.usage,
        },
        summary: answer.length > 200 ? `${answer.slice(0, 199)}…` : answer,
      };
    } catch (err) {
      // A refusal (model not allowed, bad request, budget spent) will not change on retry; an
      // upstream outage or a rate limit may.
      if (err instanceof AppError && err.status < 500 && err.status !== 429) {
        throw new NonRetryableError(err.message, { cause: err });
      }
      throw err;
    }
  };
}
