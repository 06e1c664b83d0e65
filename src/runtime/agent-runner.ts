import type { Agent, MultiAgentSpec } from '../agents/schema.ts';
import type { SpanParent } from '../observability/spans.ts';
import type { ClaimedTask } from '../tasks/rows.ts';
import { fillTemplate } from '../text/template.ts';
import type { Runtime } from './runtime.ts';
import type { AgentSource, RunHandle } from './types.ts';

/**
 * Running an agent on work handed to it, the one way for everyone who hands it some: a queued task
 * whose handler is the agent (runs/task-handler.ts) and an experiment's item
 * (eval-ports.ts, which implements eval's `ItemRunner`). So a task type's prompt renders the same for both, a team runs
 * as its run route runs it, and an earlier attempt's run is followed rather than paid for twice.
 */
export interface AgentRunner {
  /** The run: started, or the earlier attempt's (see `earlier`). Its result is its end or its pause for approval. */
  run(request: AgentRunRequest): Promise<RunHandle>;
}

/** Which agent runs, at which version. */
export type AgentChoice =
  /** An agent pinned to `version` (the run records the pin), or at its latest when the run starts. */
  | { agentId: string; version?: number }
  /** A team as it is now, run as its run route runs it: owned by its entry agent at the spec's pin. */
  | { teamId: string }
  /** An agent already read at the version to run (a queued task's settled one): the run is pinned to it. */
  | { agent: Agent };

export interface AgentRunRequest {
  tenantId: string;
  /** The tenant's name, for model policy and budgets (they are keyed by name). */
  tenantName: string;
  /** The span the run's trace hangs under. */
  trace?: SpanParent;
  runs: AgentChoice;
  /** A message, or a task rendered through its task type's prompt template at the version that runs. */
  input: { message: string } | { task: TaskPrompt };
  /** The same on every attempt of the work: the run is started with it. */
  idempotencyKey?: string;
  /**
   * The queued task this run executes: the run is in the task's session, if it has one, and waits
   * its turn there rather than fail; a remote agent's runtime gets the task beside the prompt.
   */
  queued?: { taskId: string; sessionId?: string };
  /**
   * An earlier attempt of the work may have started the run (its process died or drained; another
   * process took the run over): that run, found by its task or its key, is followed if there is one.
   */
  earlier?: { taskId: string } | { idempotencyKey: string };
}

/** The fields of a task its task type's prompt template may name. */
export type TaskPrompt = Pick<ClaimedTask, 'title' | 'description' | 'task_type' | 'payload'>;

export const DEFAULT_TASK_TEMPLATE = '{{title}}\n\n{{description}}\n\nInput:\n{{payload}}';

/**
 * Renders a task type's prompt template. Placeholders: `{{title}}`, `{{description}}`,
 * `{{task_type}}`, `{{payload}}` (the whole payload as JSON) and `{{payload.a.b}}` (one field;
 * objects as JSON). Unknown placeholders render empty. Nothing is evaluated: this is substitution only.
 */
export function renderTaskPrompt(template: string, task: TaskPrompt) {
  // Only these names: a template cannot reach the task's other fields.
  return fillTemplate(template, {
    title: task.title,
    description: task.description,
    task_type: task.task_type,
    payload: task.payload,
  });
}

export interface AgentRunnerDeps {
  runtime: Pick<Runtime, 'run' | 'runOfTask' | 'runOfKey'>;
  agents: Pick<AgentSource, 'at'>;
  teams: { get(tenantId: string, id: string): Promise<MultiAgentSpec> };
}

export function agentRunner(deps: AgentRunnerDeps): AgentRunner {
  return {
    async run(req) {
      const earlier = req.earlier && (await earlierRun(deps.runtime, req.tenantId, req.earlier));
      if (earlier) return earlier;
      const { agentId, version, multiAgent, agent } = await chosen(deps.teams, req.tenantId, req.runs);
      let message: string;
      let context: Record<string, unknown> | undefined;
      if ('message' in req.input) message = req.input.message;
      else {
        const { task } = req.input;
        // The task type's template as at the version that runs: a prompt change is a new version.
        const at = agent ?? (await deps.agents.at(req.tenantId, agentId, version));
        const type = at.task_types.find((t) => t.name === task.task_type);
        message = renderTaskPrompt(type?.prompt_template ?? DEFAULT_TASK_TEMPLATE, task);
        // A remote runtime gets the queued task itself beside the prompt (its `parameters`).
        if (req.queued && at.env === 'remote') {
          context = { task_id: req.queued.taskId, task_type: task.task_type, payload: task.payload };
        }
      }
      return deps.runtime.run(
        {
          tenantId: req.tenantId,
          tenantName: req.tenantName,
          traceId: req.trace?.traceId,
          parentSpanId: req.trace?.spanId,
          traceState: req.trace?.traceState,
        },
        agentId,
        {
          message,
          ...(context && { context }),
          session_id: req.queued?.sessionId,
          ...(version !== undefined && { agent_version: version }),
          ...(multiAgent && { multiAgent }),
          stream: false,
          // A queued task on a busy session waits its turn rather than fail or interrupt a chat.
          multitask: req.queued ? 'enqueue' : 'reject',
          on_disconnect: 'continue',
          taskId: req.queued?.taskId,
          idempotencyKey: req.idempotencyKey,
        },
      );
    },
  };
}

function earlierRun(
  runtime: AgentRunnerDeps['runtime'],
  tenantId: string,
  of: NonNullable<AgentRunRequest['earlier']>,
): Promise<RunHandle | undefined> {
  return 'taskId' in of
    ? runtime.runOfTask(tenantId, of.taskId)
    : runtime.runOfKey(tenantId, of.idempotencyKey);
}

/** The agent (and team) a choice names, at the version to pin (none: the latest); the agent itself when already read. */
async function chosen(
  teams: AgentRunnerDeps['teams'],
  tenantId: string,
  runs: AgentChoice,
): Promise<{ agentId: string; version?: number; multiAgent?: { id: string }; agent?: Agent }> {
  if ('agent' in runs) return { agentId: runs.agent.id, version: runs.agent.version, agent: runs.agent };
  if ('agentId' in runs) return runs;
  const team = await teams.get(tenantId, runs.teamId);
  const agentId = team.entry_agent_id;
  return { agentId, version: team.member_versions[agentId], multiAgent: { id: team.id } };
}
