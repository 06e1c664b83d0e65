import {
  type AgentCard,
  type CancelTaskRequest,
  type DeleteTaskPushNotificationConfigRequest,
  type GetTaskPushNotificationConfigRequest,
  type GetTaskRequest,
  type ListTaskPushNotificationConfigsRequest,
  type ListTaskPushNotificationConfigsResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type Message,
  Role,
  type SendMessageRequest,
  type StreamResponse,
  type SubscribeToTaskRequest,
  type Task,
  type TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import {
  A2AError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import type { Agent } from '../../agents/schema.ts';
import { hasScope, type Principal } from '../../auth/principal.ts';
import { AppError, isNotFound, toError, unlessNotFound } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { Deadline } from '../../resilience/deadline.ts';
import type { PushNotifier } from '../../runtime/a2a/push.ts';
import { answerArtifactId, decisionOf, isFinal, messageText, textPart } from '../../runtime/a2a/task-map.ts';
import { currentRun, lastRun, type TaskRuns, taskOfRuns } from '../../runtime/a2a/task-runs.ts';
import type { A2ATasks } from '../../runtime/a2a/tasks.ts';
import { toRun } from '../../runtime/runs/rows.ts';
import type { SessionService } from '../../runtime/runs/sessions.ts';
import type { RunCaller, Runtime } from '../../runtime/runtime.ts';
import type { Run } from '../../runtime/schema.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Longest context id a client may name. */
const maxContextId = 200;

export interface A2AHandlerDeps {
  tasks: A2ATasks;
  runtime: Runtime;
  sessions: SessionService;
  push: PushNotifier;
  /** `a2a.send_wait_ms`: longest a blocking send waits (0: until the task ends or pauses). */
  sendWaitMs: number;
  /** Aborts when the client goes away: a blocking send or a stream stops waiting then. */
  signal: AbortSignal;
  log: Logger;
}

/**
 * One agent's A2A operations for one request, onto Agentry runs: `message/send` starts a run (or,
 * on a task waiting for approval, approves or denies it), `message/stream` follows the run's
 * events, `tasks/get` reads the run, `tasks/cancel` cancels it. The SDK's JSON-RPC transport calls
 * this; nothing here speaks the wire format. Runs of another agent or tenant are not found.
 */
export class AgentA2AHandler implements A2ARequestHandler {
  constructor(
    private readonly deps: A2AHandlerDeps,
    private readonly agent: Agent,
    private readonly card: AgentCard,
    private readonly principal: Principal,
    private readonly caller: RunCaller,
  ) {}

  async getAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  sendMessage(params: SendMessageRequest): Promise<Message | Task> {
    return this.guard(async () => {
      const started = await this.start(params);
      const run = lastRun(started);
      await this.pushConfigOf(params, started);
      if (params.configuration?.returnImmediately) return taskOfRuns(started);
      const { sendWaitMs } = this.deps;
      const deadline = sendWaitMs ? new Deadline(sendWaitMs, this.deps.signal) : undefined;
      await this.deps.runtime
        .wait(this.principal.tenantId, run.id, {
          signal: deadline?.signal ?? this.deps.signal,
          untilPause: true,
        })
        .catch((err: unknown) => {
          // The wait's own limit: answer with the task as it is now.
          if (!(deadline?.passed && !this.deps.signal.aborted)) throw err;
        })
        .finally(() => deadline?.clear());
      return taskOfRuns(await this.task(started.head.id));
    });
  }

  sendMessageStream(params: SendMessageRequest): AsyncGenerator<StreamResponse> {
    return this.guardStream(async () => {
      const started = await this.start(params);
      await this.pushConfigOf(params, started);
      return this.stream(started);
    });
  }

  /** Saves the push notification config a send carries for its task (streamed or not). */
  private async pushConfigOf(params: SendMessageRequest, task: TaskRuns): Promise<void> {
    const pushed = params.configuration?.taskPushNotificationConfig;
    if (pushed?.url) await this.deps.push.save(this.principal.tenantId, { ...pushed, taskId: task.head.id });
  }

  resubscribe(params: SubscribeToTaskRequest): AsyncGenerator<StreamResponse> {
    return this.guardStream(async () => this.stream(await this.task(params.id)));
  }

  getTask(params: GetTaskRequest): Promise<Task> {
    return this.guard(async () => {
      if (params.historyLength !== undefined && params.historyLength < 0) {
        throw new RequestMalformedError('historyLength must not be negative');
      }
      const task = taskOfRuns(await this.task(params.id));
      if (params.historyLength !== undefined)
        task.history = params.historyLength === 0 ? [] : task.history.slice(-params.historyLength);
      return task;
    });
  }

  listTasks(params: ListTasksRequest): Promise<ListTasksResponse> {
    return this.guard(() =>
      this.deps.tasks.list(
        { tenantId: this.principal.tenantId, agentId: this.agent.id, viewer: this.caller.viewer },
        params,
      ),
    );
  }

  cancelTask(params: CancelTaskRequest): Promise<Task> {
    return this.guard(async () => {
      this.need('write');
      const task = await this.task(params.id);
      const last = lastRun(task);
      if (isFinal(last.status))
        throw new TaskNotCancelableError(`task ${task.head.id} has already ended (${last.status})`);
      for (const run of [task.head, ...task.more]) {
        if (!isFinal(run.status))
          await this.deps.runtime.cancel(this.principal.tenantId, run.id, 'cancelled by the A2A client');
      }
      return taskOfRuns(await this.task(task.head.id));
    });
  }

  createTaskPushNotificationConfig(params: TaskPushNotificationConfig): Promise<TaskPushNotificationConfig> {
    return this.guard(async () => {
      this.need('write');
      await this.run(params.taskId);
      return this.deps.push.save(this.principal.tenantId, params);
    });
  }

  getTaskPushNotificationConfig(
    params: GetTaskPushNotificationConfigRequest,
  ): Promise<TaskPushNotificationConfig> {
    return this.guard(async () => {
      await this.run(params.taskId);
      const id = params.id || 'default';
      const found = (await this.deps.push.list(this.principal.tenantId, params.taskId)).find(
        (c) => c.id === id,
      );
      if (!found) throw new TaskNotFoundError(`task ${params.taskId} has no push notification config ${id}`);
      return found;
    });
  }

  listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    return this.guard(async () => {
      await this.run(params.taskId);
      return {
        configs: await this.deps.push.list(this.principal.tenantId, params.taskId),
        nextPageToken: '',
      };
    });
  }

  deleteTaskPushNotificationConfig(params: DeleteTaskPushNotificationConfigRequest): Promise<void> {
    return this.guard(async () => {
      this.need('write');
      await this.run(params.taskId);
      const id = params.id || 'default';
      if (!(await this.deps.push.delete(this.principal.tenantId, params.taskId, id))) {
        throw new TaskNotFoundError(`task ${params.taskId} has no push notification config ${id}`);
      }
    });
  }

  /** A new task for the message, or a further message on a task (see `continue`). */
  private async start(params: SendMessageRequest): Promise<TaskRuns> {
    this.need('write');
    const message = params.message;
    if (!message) throw new RequestMalformedError('params.message is required');
    // A2A 1.0 §4.1.4: every message carries its id.
    if (!message.messageId) throw new RequestMalformedError('message.messageId is required');
    if (message.role === Role.ROLE_UNSPECIFIED) throw new RequestMalformedError('message.role is required');
    if (message.taskId) return this.continue(message);
    const text = messageText(message);
    if (!text) throw new RequestMalformedError('the message has no text or data part');
    const contextId = message.contextId;
    if (contextId.length > maxContextId) {
      throw new RequestMalformedError(`contextId must be at most ${maxContextId} characters`);
    }
    const sessionId = await this.session(contextId);
    // A context the client named itself (A2A 1.0 §3.4.1: kept, not replaced by one of ours): its
    // latest task's session carries the conversation on, when there is one this caller may use.
    const named = contextId && !sessionId ? contextId : undefined;
    const prior = named ? await this.namedContextSession(named) : undefined;
    const begin = (session_id: string | undefined) =>
      this.deps.runtime.run(this.caller, this.agent.id, {
        message: text,
        session_id,
        stream: false,
        multitask: 'reject',
        on_disconnect: 'continue',
      });
    let own = false;
    const handle = await begin(sessionId ?? prior).catch(async (err: unknown) => {
      // Another task of the context is in progress: this one runs beside it, in a session of its
      // own (a session runs one run at a time), and belongs to the context all the same. A named
      // context's session this caller may not see is not theirs to continue: a new one.
      const busy = err instanceof AppError && err.code === 'conflict' && hasRunId(err.details);
      const hidden = prior !== undefined && isNotFound(err);
      if (!((sessionId || prior) && (busy || hidden))) throw err;
      own = true;
      return begin(undefined);
    });
    const context = named ?? (own ? sessionId : undefined);
    if (context) await this.deps.tasks.add(this.principal.tenantId, handle.runId, handle.runId, context);
    return this.task(handle.runId);
  }

  /**
   * A message on an existing task. A task waiting for approval takes an answer (approve or deny);
   * a task still working takes any message: a further run of the task, queued in its session, so
   * the agent answers it when what is in progress has ended. A task that has ended takes none
   * (UnsupportedOperation, A2A 1.0 §3.1.1).
   */
  private async continue(message: Message): Promise<TaskRuns> {
    const task = await this.task(message.taskId);
    if (message.contextId && message.contextId !== task.contextId) {
      // A2A 1.0 §3.4.3: a contextId other than the task's is refused.
      throw new RequestMalformedError(
        `task ${task.head.id} belongs to context ${task.contextId}, not ${message.contextId}`,
      );
    }
    const last = lastRun(task);
    if (isFinal(last.status)) {
      throw new UnsupportedOperationError(
        `task ${task.head.id} has ended (${last.status}) and takes no further message: send one without taskId (with its contextId to continue the conversation)`,
      );
    }
    const current = currentRun(task);
    if (current.status === 'input_required' || current.status === 'interrupted') {
      const decision = decisionOf(message);
      if (!decision) {
        throw new RequestMalformedError(
          `task ${task.head.id} waits for approval: answer "approve", or "deny" with a reason (or a data part {"approved": true|false, "reason": "…"})`,
        );
      }
      await this.deps.runtime.decide(this.caller, current.id, decision.approved, decision.reason);
      return this.task(task.head.id);
    }
    const text = messageText(message);
    if (!text) throw new RequestMalformedError('the message has no text or data part');
    const handle = await this.deps.runtime.run(this.caller, this.agent.id, {
      message: text,
      session_id: last.session_id,
      stream: false,
      multitask: 'enqueue',
      on_disconnect: 'continue',
    });
    await this.deps.tasks.add(this.principal.tenantId, handle.runId, task.head.id, task.contextId);
    // The task's push configs follow this run too: its watcher goes on to it (runtime/a2a/push.ts),
    // and one is started here when none is (a server restarted since the configs were saved).
    if ((await this.deps.push.list(this.principal.tenantId, task.head.id)).length > 0) {
      this.deps.push.watch(this.principal.tenantId, task.head.id);
    }
    return this.task(task.head.id);
  }

  /** The session of the latest task of this agent in the context the client named `contextId`. */
  private async namedContextSession(contextId: string): Promise<string | undefined> {
    return this.deps.tasks.contextSession(this.principal.tenantId, this.agent.id, contextId);
  }

  /** The session a context id names when it is one of this agent's; otherwise a new one. */
  private async session(contextId: string): Promise<string | undefined> {
    if (!contextId || !uuid.test(contextId)) return undefined;
    const found = await this.deps.sessions.get(this.principal.tenantId, contextId).catch(unlessNotFound);
    return found?.agent_id === this.agent.id ? found.id : undefined;
  }

  /**
   * The task first, then its latest run's answer as it is written, then each change of state,
   * until it ends or pauses.
   */
  private async *stream(task: TaskRuns): AsyncGenerator<StreamResponse> {
    yield { payload: { $case: 'task', value: taskOfRuns(task) } };
    const { runtime } = this.deps;
    const start = lastRun(task);
    const ids = { taskId: task.head.id, contextId: task.contextId };
    let state = start.status;
    let chunks = 0;
    if (isFinal(state) || state === 'input_required') return;
    for await (const e of runtime.follow(start.id, 0, this.deps.signal)) {
      if (e.type === 'text' && typeof e.data.delta === 'string' && e.data.delta) {
        yield {
          payload: {
            $case: 'artifactUpdate',
            value: {
              ...ids,
              artifact: {
                artifactId: answerArtifactId(task.head.id),
                name: 'answer',
                description: '',
                parts: [textPart(e.data.delta)],
                metadata: undefined,
                extensions: [],
              },
              append: chunks++ > 0,
              lastChunk: false,
              metadata: undefined,
            },
          },
        };
        continue;
      }
      if (!['system', 'tool_call', 'approval_required', 'session_end'].includes(e.type)) continue;
      const run = await this.run(start.id);
      if (run.status === state && e.type !== 'session_end') continue;
      state = run.status;
      const now = taskOfRuns(await this.task(task.head.id));
      const ending = isFinal(run.status) || run.status === 'input_required';
      // The whole answer in one last artifact, sent before the terminal status: the stream
      // closes at the terminal state (A2A), so nothing may follow it.
      if (run.status === 'completed' && now.artifacts[0]) {
        yield {
          payload: {
            $case: 'artifactUpdate',
            value: {
              ...ids,
              artifact: now.artifacts[0],
              append: false,
              lastChunk: true,
              metadata: undefined,
            },
          },
        };
      }
      yield {
        payload: {
          $case: 'statusUpdate',
          value: { ...ids, status: now.status, metadata: now.metadata },
        },
      };
      if (ending) return;
    }
  }

  /**
   * A run of this agent in the caller's tenant, or TaskNotFound (another tenant's or agent's run
   * too, and a run in another user's private session).
   */
  private async run(id: string): Promise<Run> {
    if (!id || !uuid.test(id)) throw new TaskNotFoundError(`task ${id} not found`);
    const row = await this.deps.runtime.store.get(this.principal.tenantId, id).catch(unlessNotFound);
    if (!row || row.agent_id !== this.agent.id) throw new TaskNotFoundError(`task ${id} not found`);
    const { viewer } = this.caller;
    if (viewer)
      await this.deps.sessions.assertRunVisible(this.principal.tenantId, id, viewer).catch((err: unknown) => {
        throw isNotFound(err) ? new TaskNotFoundError(`task ${id} not found`) : err;
      });
    return toRun(row);
  }

  /** The task a run id names (a run of a further message names its task), with its runs. */
  private async task(id: string): Promise<TaskRuns> {
    const head = await this.run(id);
    const taskId = await this.deps.tasks.taskIdOf(head.id);
    return this.deps.tasks.runs(taskId === head.id ? head : await this.run(taskId));
  }

  /** Errors as A2A clients should read them (see `a2aError`). */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw a2aError(err, this.deps.log);
    }
  }

  private async *guardStream(
    open: () => Promise<AsyncGenerator<StreamResponse>>,
  ): AsyncGenerator<StreamResponse> {
    try {
      yield* await open();
    } catch (err) {
      throw a2aError(err, this.deps.log);
    }
  }

  private need(scope: 'write'): void {
    if (!hasScope(this.principal, scope)) {
      throw new AppError('forbidden', `this API key is read-only: this call needs the ${scope} scope`);
    }
  }
}

/**
 * An error for the SDK's transport to render: A2A errors as they are, AppErrors as the A2A error
 * closest to them (their messages are meant for clients), anything else as an internal error that
 * reveals nothing (and is logged), as the API's error handler does.
 */
function a2aError(err: unknown, log: Logger): Error {
  if (err instanceof A2AError) return err;
  if (err instanceof AppError) {
    if (err.code === 'not_found') return new TaskNotFoundError(err.message);
    if (
      err.status < 500 &&
      err.code !== 'forbidden' &&
      err.code !== 'rate_limited' &&
      err.code !== 'conflict'
    )
      return new RequestMalformedError(err.message);
    return new Error(err.message);
  }
  log.error({ err: toError(err) }, 'A2A request failed');
  return new Error('internal error');
}

const hasRunId = (details: unknown): boolean =>
  typeof details === 'object' && details !== null && 'run_id' in details;
