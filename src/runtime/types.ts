import type { Agent, AgentEnv } from '../agents/schema.ts';
import type { Viewer } from '../auth/ownership.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/db.ts';
import type { LiveBus } from '../events/bus.ts';
import type { CallContext, ChatMessage, ModelGateway, ToolCall, ToolSpec, Usage } from '../models/types.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Workspace } from '../tools/workspace.ts';
import type { LoopMemory } from './loop/context.ts';
import type { RunEvent, RunEventWriter } from './runs/events.ts';
import type { NewMessage, NewStep, RunOptions } from './runs/rows.ts';
import type { RunStore } from './runs/store.ts';
import type { ChatInput, ToolCallRecord } from './schema.ts';

/** What the Runtime (runtime.ts) is built from, and the shapes its callers use. */

export interface RuntimeDeps {
  db: Db;
  bus: LiveBus;
  log: Logger;
  /** Run and tool call metrics; absent in tests that build a runtime bare. */
  metrics?: AgentMetrics;
  agents: AgentSource;
  models: ModelGateway;
  tools: ToolRegistry;
  config: Config['runtime'];
  /** The tenant's name, for model policy and budgets, when a run starts without a request (queued, resumed by the system). */
  tenantName(tenantId: string): Promise<string>;
  /** Runs that do not execute with the in-process loop: remote agents, multi-agent specs. */
  executors?: Executors;
  /** Context assembly from memory (persona, history budget, retrieval) and playbooks. */
  memory?: LoopMemory;
  /**
   * Refuses, before anything is written, a chat its agent cannot serve (a pool agent with no
   * deployment yet): the client gets the error instead of a session holding a failed run.
   */
  admit?(tenantId: string, agent: Agent): Promise<void>;
  /** A run of this process ended (or paused): live evaluators may score it. Must not throw or wait. */
  onRunEnd?(ended: EndedRun): void;
}

/** What `onRunEnd` is told of a run that ended in this process. */
export interface EndedRun {
  tenantId: string;
  tenantName: string;
  agentId: string;
  runId: string;
  /** The user's message, when this process started the run (a run taken over has none here). */
  input: string;
  result: RunResult;
  durationMs: number;
  /** The run's idempotency key: `eval:<item>` for an experiment's runs (they are scored there). */
  idempotencyKey?: string;
}

/** Agent configs as the runtime reads them: the latest, or as at a version (`AgentService` is one). */
export interface AgentSource {
  get(tenantId: string, id: string): Promise<Agent>;
  /** The agent as at `version`; 404 for a version it never had. */
  at(tenantId: string, id: string, version?: number): Promise<Agent>;
}

/* The executors' contract: what every executor is given and answers, and the loop's shapes that runs/ records. */

/** Why a run's signal aborted. */
export class RunAborted extends Error {
  constructor(
    readonly kind: 'cancelled' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'RunAborted';
  }
}

/** The loop stopped at a step boundary because the process drains (graceful shutdown). */
export class RunDrained extends Error {
  constructor() {
    super('the process is shutting down; the run continues in another process');
    this.name = 'RunDrained';
  }
}

/** The loop stopped for a reason of its own (max_steps); `round` still has to be persisted. */
export class LoopError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly round: Round,
  ) {
    super(message);
    this.name = 'LoopError';
  }
}

/** How a run ended (or paused), for non-streaming answers and the task handler. */
export type RunResult =
  | {
      status: 'completed';
      text: string;
      model: string;
      finishReason: string;
      toolCalls: ToolCallRecord[];
      usage: Usage;
    }
  | {
      status: 'input_required';
      pending: ToolCallRecord[];
      toolCalls: ToolCallRecord[];
      usage: Usage;
      /** The run waits for the results of these calls of the caller's tools (no approval is asked). */
      forCaller?: ToolCall[];
    }
  | {
      status: 'failed' | 'cancelled';
      error: { code: string; message: string };
      cause?: unknown;
      usage: Usage;
    };

export interface ExecuteDeps {
  store: RunStore;
  models: ModelGateway;
  tools: ToolRegistry;
  log: Logger;
  owner: string;
  /** The run ended and others wait behind it in its session. */
  onQueued(sessionId: string): void;
  /** Context assembly and playbooks; absent: no knowledge, history within the default budget. */
  memory?: LoopMemory;
  metrics?: AgentMetrics;
  /** `runtime.record_each_step` (loop.ts `recordEachStep`). */
  recordEachStep?: boolean;
}

/** One run to execute now: it is `running` and leased to this process. */
export interface RunSpec {
  runId: string;
  tenantId: string;
  sessionId: string;
  agent: Agent;
  context: Record<string, unknown>;
  options: RunOptions;
  /** When the run started (ms since the epoch), for `duration_ms`. */
  startedAt: number;
  /** Counters before this execution (a resumed run carries on from them). */
  modelCalls: number;
  usage: Usage;
  /** The conversation, when the caller already has it (a new session: just the user's message). */
  history?: ChatMessage[];
  resume?: {
    toolCalls: ToolCall[];
    approved: boolean;
    reason?: string;
    pausedAt?: Date;
    supplied?: ReadonlyMap<string, string>;
  };
  /**
   * This process took the run over (its executor died or drained, or a person resumed it after an
   * interruption, `rerun`): it carries on from the last recorded step (recovery.ts).
   */
  takeover?: { rerun: boolean };
  /** When aborted, the run stops at its next step boundary and gives up its lease (graceful shutdown). */
  drain?: AbortSignal;
  call: Omit<CallContext, 'signal'>;
  workspace: Workspace;
  signal: AbortSignal;
  writer: RunEventWriter;
}

/** What one stretch of the loop produced, to persist together. */
export interface Round {
  messages: NewMessage[];
  steps: NewStep[];
  modelCalls: number;
  usage: Usage;
}

/**
 * Carrying on with tool calls the conversation already holds: after a pause (a person approved or
 * denied them) or after a takeover (the process that ran them died; `recorded` holds the results
 * it wrote before it died, which are reused rather than run again).
 */
export interface Resume {
  toolCalls: ToolCall[];
  approved: boolean;
  reason?: string;
  recorded?: ReadonlyMap<string, RecordedResult>;
  /** A takeover: no approval event is written. */
  takeover?: boolean;
  /** The caller's results for calls of its own tools, by call id (no approval event either). */
  supplied?: ReadonlyMap<string, string>;
}

/** A tool result recorded on its own (other calls of its round were still running). */
export interface RecordedResult {
  name: string;
  /** What the model sees. */
  content: string;
  output?: unknown;
  error?: string;
}

/** Executes one run instead of `executeRun` (same contract: persists how the run ends). */
export type Executor = (deps: ExecuteDeps, run: RunSpec) => Promise<RunResult>;
/**
 * The executors the composition root plugs in, by the agent env whose runs they execute (`routes`
 * in routing.ts says which env runs with which; the loop's envs need none).
 */
export type Executors = Partial<Record<Exclude<AgentEnv, 'in_process' | 'cloud_shared'>, Executor>>;

/** Who asks for a run: the request's identity, passed on to the model gateway. */
export interface RunCaller {
  tenantId: string;
  tenantName: string;
  keyId?: string;
  requestId?: string;
  traceId?: string;
  /** The span the run's span hangs under (the request's, or the task execution's). */
  parentSpanId?: string;
  /** The user asking: another user's private agent or session is not found for them; owns a new session. */
  viewer?: Viewer;
  /** The caller's W3C `tracestate`, sent on to the upstreams the run calls. */
  traceState?: string;
}

export interface StartInput extends Omit<ChatInput, 'stream'> {
  stream: boolean;
  /** Set by the task handler: the task this run executes. */
  taskId?: string;
  /** Set by the task handler: the task's idempotency key, the same on each attempt. */
  idempotencyKey?: string;
  /** Run a multi-agent spec (POST /v1/multi-agents/:id/run); `agentId` is then its entry agent. */
  multiAgent?: { id: string; entry_agent_id?: string };
  /** The caller holds a sandbox of the warm pool for this run (an isA pool instance). */
  heldSandbox?: boolean;
  /** Tools the caller offers beside the agent's own (RunOptions `caller_tools`). */
  callerTools?: ToolSpec[];
}

/** A run just started (or queued): its first events, and its outcome to come. */
export interface RunHandle {
  sessionId: string;
  runId: string;
  status: 'running' | 'queued';
  /** session_start (and system), already in the log. */
  events: RunEvent[];
  /** Settles when the run ends or pauses for approval. */
  result(): Promise<RunResult>;
}
