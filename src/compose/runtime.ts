import { AgentGenerator } from '../agents/generator.ts';
import type { DeploymentService } from '../agents/local-dev/deployments.ts';
import type { MultiAgentService } from '../agents/multi-agents.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/db.ts';
import type { LiveBus } from '../events/bus.ts';
import { GatewayEmbedder, OfflineEmbedder } from '../memory/embeddings.ts';
import { Memory } from '../memory/memory.ts';
import type { Gateway } from '../models/gateway.ts';
import type { OfflineEncoder } from '../models/offline-encoder/offline-encoder.ts';
import type { OutboundNetwork } from '../net/outbound.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import { a2aExecutor } from '../runtime/a2a/executor.ts';
import { PushNotifier } from '../runtime/a2a/push.ts';
import type { A2ARemotes } from '../runtime/a2a/remote.ts';
import { A2ATasks } from '../runtime/a2a/tasks.ts';
import { agentRunner } from '../runtime/agent-runner.ts';
import { LoopMemory } from '../runtime/loop/context.ts';
import { cloudPoolAdmission, cloudPoolExecutor, type WarmHold } from '../runtime/pool/cloud-pool.ts';
import { poolAdmission, poolExecutor } from '../runtime/pool/local-dev/executor.ts';
import type { AgentSandboxes } from '../runtime/pool/local-dev/sandboxes.ts';
import { RemoteRuntimes, remoteExecutor } from '../runtime/remote.ts';
import { SessionService } from '../runtime/runs/sessions.ts';
import { agentTaskHandler } from '../runtime/runs/task-handler.ts';
import { Runtime } from '../runtime/runtime.ts';
import { multiAgentExecutor } from '../runtime/teams/multi-agent.ts';
import type { RuntimeDeps } from '../runtime/types.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Domain } from './domain.ts';

export interface RuntimeBuildDeps {
  config: Config;
  db: Db;
  bus: LiveBus;
  log: Logger;
  domain: Domain;
  models: Gateway;
  tools: ToolRegistry;
  multiAgents: MultiAgentService;
  deployments: DeploymentService;
  agentSandboxes: AgentSandboxes;
  /** The tools' warm pools, whose sandboxes `cloud_pool` runs hold. */
  sandboxes: WarmHold;
  network?: OutboundNetwork;
  /** Calls to remote A2A agents (env a2a members and runs). */
  a2aRemotes: A2ARemotes;
  /** Run and tool call metrics. */
  metrics?: AgentMetrics;
  /** Told of each run that ends in this process (live evaluators). */
  onRunEnd?: RuntimeDeps['onRunEnd'];
  /** The process's offline encoder, for knowledge bases' `offline` embedder. */
  offlineEncoder: OfflineEncoder;
}

/**
 * The agent runtime and what it reads from: sessions and the knowledge bases. Nothing is started
 * here (`startServing` starts the runtime); the queue's default handler becomes the agent loop.
 */
export async function buildRuntime(deps: RuntimeBuildDeps) {
  const { config, db, bus, log, domain, models, tools } = deps;
  const { agents, multiAgents, tenantName, taskHandlers, allowPrivateEgress } = domain;
  const { a2aRemotes } = deps;
  // Refused before anything is written: a pool agent with no deployment, a cloud_pool one without a pool.
  const admitPool = poolAdmission(deps.deployments);
  const admitCloudPool = cloudPoolAdmission(deps.sandboxes);
  const runtime = new Runtime({
    db,
    bus,
    log,
    metrics: deps.metrics,
    agents,
    models,
    tools,
    config: config.runtime,
    tenantName,
    // The memory module is opened further down; the loop reads it when a run starts.
    memory: new LoopMemory({
      db,
      memory: () => memory,
      settings: {
        historyTokens: config.memory.history_tokens,
        retrievalTopK: config.memory.retrieval_top_k,
        personaTokens: config.memory.persona_tokens,
      },
      log,
    }),
    executors: {
      multi_agent: multiAgentExecutor({ specs: multiAgents, agents, a2a: a2aRemotes }),
      remote: remoteExecutor(new RemoteRuntimes(config.runtime.remote, deps.network), allowPrivateEgress),
      pool: poolExecutor(deps.deployments, deps.agentSandboxes),
      a2a: a2aExecutor(a2aRemotes),
      cloud_pool: cloudPoolExecutor(deps.sandboxes),
    },
    admit: async (tenantId, agent) => {
      await admitPool(tenantId, agent);
      await admitCloudPool(tenantId, agent);
    },
    onRunEnd: deps.onRunEnd,
  });
  const sessions = new SessionService(db, (tenantId, sessionId) => runtime.workspace(tenantId, sessionId));
  // Queued tasks and experiment items run their agent through one runner.
  const runner = agentRunner({ runtime, agents, teams: multiAgents });
  // The queue's default handler runs the agent loop; the queue itself knows nothing of agents or models.
  taskHandlers.setDefault(
    agentTaskHandler({
      agents,
      runner,
      runtime,
      tenantName,
      settleAgentVersion: (tenantId, taskId, latest) =>
        domain.tasks.settleAgentVersion(tenantId, taskId, latest),
    }),
  );

  const memory = await Memory.open(db, {
    chunking: { maxChars: config.memory.chunk_chars, overlapChars: config.memory.overlap_chars },
    maxDocumentBytes: config.memory.max_document_bytes,
    vectorCacheChunks: config.memory.vector_cache_chunks,
    fusion: config.memory.fusion,
    ingestRetentionDays: config.memory.ingest_retention_days,
    embedder: {
      none: undefined,
      offline: new OfflineEmbedder(deps.offlineEncoder),
      gateway: new GatewayEmbedder(models, config.memory.embeddings.model ?? ''),
    }[config.memory.embeddings.provider],
  });
  // Agents designed from a requirement: one generator for /v1 and isA's route alike.
  const generator = new AgentGenerator({
    models,
    agents,
    multiAgents: deps.multiAgents,
    tools,
    defaultModel: config.models.default_model,
  });
  // A2A tasks over runs, and push notifications to the clients of tasks served at /a2a (doors/a2a).
  const a2aTasks = new A2ATasks(db);
  const a2aPush = new PushNotifier({
    db,
    runtime,
    log,
    allowPrivate: allowPrivateEgress,
    timeoutMs: config.a2a.push_timeout_ms,
    maxPerTask: config.a2a.push_max_per_task,
    network: deps.network,
    // A task of several runs (a further message on a task still working) is watched through them all.
    task: (tenantId, taskId) => a2aTasks.view(tenantId, taskId),
  });
  return { runtime, runner, sessions, memory, generator, a2aPush, a2aTasks };
}
