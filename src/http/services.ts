import type { AgentVersionService } from '../agents/agent-versions.ts';
import type { AgentService } from '../agents/agents.ts';
import type { AgentGenerator } from '../agents/generator.ts';
import type { DeploymentService } from '../agents/local-dev/deployments.ts';
import type { MultiAgentService } from '../agents/multi-agents.ts';
import type { TemplateService } from '../agents/templates.ts';
import type { ApiKeyService } from '../auth/api-keys.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { ConsoleSessionService } from '../auth/console-sessions.ts';
import type { TenantService } from '../auth/tenants.ts';
import type { Config } from '../config/config.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { PoolStats } from '../db/db.ts';
import type { TraceIngest } from '../doors/otlp/ingest.ts';
import type { SpanRate } from '../doors/otlp/span-rate.ts';
import type { DatasetService } from '../eval/datasets/datasets.ts';
import type { EvaluatorService } from '../eval/evaluators/named.ts';
import type { ExperimentService } from '../eval/experiments/experiments.ts';
import type { LabelService } from '../eval/labels/labels.ts';
import type { LiveScoring } from '../eval/live/live-scoring.ts';
import type { QueueService } from '../eval/queues/queues.ts';
import type { ReviewService } from '../eval/queues/review.ts';
import type { ScoreConfigService } from '../eval/scores/configs.ts';
import type { FeedbackLimit } from '../eval/scores/feedback-limit.ts';
import type { ScoreService } from '../eval/scores/scores.ts';
import type { LiveBus } from '../events/bus.ts';
import type { JournalService } from '../events/journal-service.ts';
import type { Memory } from '../memory/memory.ts';
import type { Gateway } from '../models/gateway.ts';
import type { StoredResponses } from '../models/stored-responses.ts';
import type { HealthRegistry } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PushNotifier } from '../runtime/a2a/push.ts';
import type { A2ARemotes } from '../runtime/a2a/remote.ts';
import type { A2ATasks } from '../runtime/a2a/tasks.ts';
import type { AgentSandboxes } from '../runtime/pool/local-dev/sandboxes.ts';
import type { PoolInstances } from '../runtime/pool/pool-instances.ts';
import type { SessionService } from '../runtime/runs/sessions.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { CallbackSecrets } from '../tasks/callback-secrets.ts';
import type { HandlerRegistry } from '../tasks/handlers.ts';
import type { QueueMetrics } from '../tasks/metrics.ts';
import type { QueueRunner } from '../tasks/runner.ts';
import type { ScheduleService } from '../tasks/schedules.ts';
import type { TaskService } from '../tasks/tasks.ts';
import type { McpManager } from '../tools/mcp/manager.ts';
import type { McpServerStore } from '../tools/mcp/servers.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { EgressProxy } from '../tools/sandbox/egress-proxy.ts';
import type { FleetStats } from '../tools/sandbox/fleet-stats.ts';
import type { SandboxService } from '../tools/sandbox/sandbox.ts';

/** Everything the front doors (HTTP routes, CLI) call. Built once, in one place. */
export interface Services {
  config: Config;
  version: string;
  log: Logger;
  /** How the store's connections are used now (backpressure refuses new work when queries wait). */
  storeLoad: () => PoolStats;
  /** The audit journal, for routes that write or read it outside a service's transaction. */
  journal: JournalService;
  bus: LiveBus;
  metrics: Metrics;
  health: HealthRegistry;
  /** tenants.yaml: routing, budgets, rate limits, fail_open; reloaded on SIGHUP. */
  policies: TenantPolicies;
  tenants: TenantService;
  keys: ApiKeyService;
  consoleSessions: ConsoleSessionService;
  authenticator: Authenticator;
  templates: TemplateService;
  agents: AgentService;
  /** An agent's versions: list, read, diff, roll back (written by `agents` on every change). */
  agentVersions: AgentVersionService;
  /** Labels on versions (`name@production`) and the release gates that guard their moves. */
  labels: LabelService;
  multiAgents: MultiAgentService;
  /** The task queue's API side: enqueue, read, cancel, retry, external reports, queue status. */
  tasks: TaskService;
  schedules: ScheduleService;
  callbackSecrets: CallbackSecrets;
  /** Task handlers by agent and task type; the default one runs the agent. */
  taskHandlers: HandlerRegistry;
  queueMetrics: QueueMetrics;
  /** Datasets of test cases for experiments. */
  datasets: DatasetService;
  /** Named, versioned evaluators a tenant reuses by `{"ref": name}`. */
  evaluators: EvaluatorService;
  /** Experiments: an agent over a dataset with evaluators, run in lanes on the queue. */
  experiments: ExperimentService;
  /** Scores on runs (people, evaluators, API clients, end users), checked against score configs. */
  scores: ScoreService;
  /** A tenant's score configs: numeric ranges, categories, booleans. */
  scoreConfigs: ScoreConfigService;
  /** Annotation queues: runs set aside for people to score. */
  annotationQueues: QueueService;
  /** Reviewers' work on annotation queues: claim, score, skip, copy to a dataset, progress. */
  reviews: ReviewService;
  /** The per-key rate limit of `feedback` keys. */
  feedbackLimit: FeedbackLimit;
  /** Other apps' OpenTelemetry traces as runs (POST /v1/traces, doors/otlp). */
  traces: TraceIngest;
  /** The per-tenant span rate of POST /v1/traces. */
  spanRate: SpanRate;
  /** Evaluators attached to agents, scoring a sample of their live runs. */
  liveScoring: LiveScoring;
  /** The in-process workers, scheduler and callback sender; absent with `tasks.workers: 0`. */
  queue?: QueueRunner;
  /** The model gateway: every model call (agents, tasks, /v1/chat/completions) goes through it. */
  models: Gateway;
  /** Responses kept by POST /v1/responses (`store`), which `previous_response_id` continues. */
  storedResponses: StoredResponses;
  /** Tools agents may call, by name (built-ins now). */
  tools: ToolRegistry;
  /** The agent runtime: chat runs, approval, cancellation, streams, orphan recovery. */
  runtime: Runtime;
  sessions: SessionService;
  /** A2A push notifications for the tasks served at /a2a/{agent}. */
  a2aPush: PushNotifier;
  /** A2A tasks over runs: the A2A door's store side (runtime/a2a/tasks.ts). */
  a2aTasks: A2ATasks;
  /** Calls to remote A2A agents (env a2a, a2a tools). */
  a2aRemotes: A2ARemotes;
  /** Designs agents (or a team) from a plain-language requirement. */
  generator: AgentGenerator;
  /** Sandboxed execution: a warm pool per backend (bwrap, quickjs) and per-tool circuit breakers. */
  sandboxes: SandboxService;
  /** Local-dev agents: their deployed bundles, and the sandboxes their handle runs in. */
  deployments: DeploymentService;
  agentSandboxes: AgentSandboxes;
  /** The warm pools' stats summed over the fleet (Redis), or this process's alone. */
  fleetStats: FleetStats;
  /** Warm-pool sandboxes held for a caller until released or idle (isA's pool routes). */
  poolInstances: PoolInstances;
  /** Knowledge bases: documents, chunks, hybrid search. */
  memory: Memory;
  /** MCP tool servers tenants register (rows), and their connections and tools in this process. */
  mcpServers: McpServerStore;
  mcp: McpManager;
  /** The egress proxy: per-tenant Unix sockets, domain allowlist, credential injection. */
  egress: EgressProxy;
}
