import { type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import type { Run, RunStatus } from '../schema.ts';

/**
 * An A2A task is an Agentry run: the task id is the run id, the context id its session id, and the
 * states map one to one (a run waiting for approval is `input-required`). What the agent answered
 * is the task's `answer` artifact; what the run waits on or why it failed is its status message.
 */

const states: Record<RunStatus, TaskState> = {
  queued: TaskState.TASK_STATE_SUBMITTED,
  running: TaskState.TASK_STATE_WORKING,
  input_required: TaskState.TASK_STATE_INPUT_REQUIRED,
  // Cut off mid-way in a tool that may not run twice: a person resumes or cancels it.
  interrupted: TaskState.TASK_STATE_INPUT_REQUIRED,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  cancelled: TaskState.TASK_STATE_CANCELED,
};

export const taskState = (status: RunStatus): TaskState => states[status];

export const isFinal = (status: RunStatus): boolean =>
  status === 'completed' || status === 'failed' || status === 'cancelled';

export const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

export function agentMessage(run: Pick<Run, 'id' | 'session_id'>, id: string, text: string): Message {
  return {
    messageId: id,
    contextId: run.session_id,
    taskId: run.id,
    role: Role.ROLE_AGENT,
    parts: [textPart(text)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The answer artifact's id: one per task, so streamed chunks and the final task agree. */
export const answerArtifactId = (runId: string) => `${runId}:answer`;

/** What the status message says: the calls waiting for approval, or why the run ended badly. */
function statusText(run: Run): string | undefined {
  if (run.status === 'input_required') {
    const calls = (run.pending_tool_calls ?? [])
      .map((c) => `${c.name}(${JSON.stringify(c.arguments)})`)
      .join(', ');
    return `Approval needed before calling ${calls || 'a tool'}. Answer "approve", or "deny" with a reason.`;
  }
  if (run.status === 'interrupted') {
    return `${run.error?.message ?? 'interrupted'}: resume it (POST /v1/runs/${run.id}/resume) or cancel it.`;
  }
  if (run.status === 'failed' || run.status === 'cancelled') return run.error?.message ?? `run ${run.status}`;
  return undefined;
}

/** The task of a run, as A2A clients read it. */
export function taskOf(run: Run): Task {
  const said = statusText(run);
  const user: Message = {
    messageId: `${run.id}:input`,
    contextId: run.session_id,
    taskId: run.id,
    role: Role.ROLE_USER,
    parts: [textPart(run.input)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
  return {
    id: run.id,
    contextId: run.session_id,
    status: {
      state: taskState(run.status),
      message: said === undefined ? undefined : agentMessage(run, `${run.id}:${run.status}`, said),
      timestamp: run.updated_at,
    },
    artifacts:
      run.status === 'completed' && run.output !== null
        ? [
            {
              artifactId: answerArtifactId(run.id),
              name: 'answer',
              description: '',
              parts: [textPart(run.output)],
              metadata: undefined,
              extensions: [],
            },
          ]
        : [],
    history: [user],
    metadata: {
      agentry: {
        run_id: run.id,
        session_id: run.session_id,
        agent_id: run.agent_id,
        ...(run.pending_tool_calls && { pending_tool_calls: run.pending_tool_calls }),
      },
    },
  };
}

/** A message's text: its text parts, and its data parts as JSON, one after the other. */
export function messageText(m: Message): string {
  return m.parts
    .map((p) => {
      if (p.content?.$case === 'text') return p.content.value;
      if (p.content?.$case === 'data') return JSON.stringify(p.content.value);
      if (p.content?.$case === 'url') return p.content.value;
      return '';
    })
    .filter((t) => t.length > 0)
    .join('\n');
}

/**
 * An answer to a task waiting for approval: a data part `{approved, reason?}`, or text that starts
 * with approve/yes or deny/no (what follows a denial is its reason). Undefined when it says neither.
 */
export function decisionOf(m: Message): { approved: boolean; reason?: string } | undefined {
  for (const p of m.parts) {
    if (p.content?.$case !== 'data') continue;
    const v = p.content.value as { approved?: unknown; reason?: unknown } | undefined;
    if (typeof v?.approved === 'boolean') {
      return { approved: v.approved, ...(typeof v.reason === 'string' && { reason: v.reason }) };
    }
  }
  const text = messageText(m).trim();
  if (/^(approve[ds]?|yes|y|ok|allow)\b/i.test(text)) return { approved: true };
  const deny = /^(deny|denied|no|n|reject(ed)?)\b[\s:,.-]*(.*)$/is.exec(text);
  if (deny) return { approved: false, ...(deny[3] && { reason: deny[3].trim() }) };
  return undefined;
}
