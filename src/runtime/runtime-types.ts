import type { Agent } from '../agents/schema.ts';
import type { Viewer } from '../auth/ownership.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/db.ts';
import type { LiveBus } from '../events/bus.ts';
import type { ModelGateway } from '../models/types.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { LoopMemory } from './context.ts';
import type { ExecuteDeps, RunResult, RunSpec } from './execute.ts';
import type { RunEvent } from './run-events.ts';
import type { ChatInput } from './schema.ts';

/** What the Runtime (runtime.ts) is built from, and the shapes its callers use. */

export interface RuntimeDeps {
  db: Db;
  bus: LiveBus;
  log: Logger;
  /** Run and tool call metrics; absent in tests that build a runtime bare. */
  metrics?: AgentMetrics;
  agents: { get(tenantId: string, id: string): Promise<Agent> };
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
}

/** Executes one run instead of `executeRun` (same contract: persists how the run ends). */
export type Executor = (deps: ExecuteDeps, run: RunSpec) => Promise<RunResult>;
export interface Executors {
  remote?: Executor;
  multi_agent?: Executor;
  /** Local-dev agents (env pool): their deployed bundle's handle in a sandbox. */
  pool?: Executor;
  /** Agents with env cloud_pool: the loop, holding a sandbox of the tools' warm pool for the run. */
  cloud_pool?: Executor;
  /** Remote A2A agents (env a2a): `runtime_url` is the agent's card URL. */
  a2a?: Executor;
}

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
