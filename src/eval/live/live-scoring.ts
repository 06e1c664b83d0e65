import { z } from 'zod';
import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { notFound } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { Deadline } from '../../resilience/deadline.ts';
import type { EvaluatorResolver } from '../evaluators/named.ts';
import { type EvaluatorEntry, evaluatorSet } from '../evaluators/registry.ts';
import { type BoundEvaluator, bindEvaluators, scoreCase } from '../evaluators/score.ts';
import type { EvalDeps, EvalTrace } from '../evaluators/types.ts';

export const agentEvaluatorsBody = z
  .object({
    evaluators: evaluatorSet,
    /** The share of live runs scored, 0 to 1 (default: `eval.live_sample_rate`). */
    sample_rate: z.number().min(0).max(1).optional(),
  })
  .strict();

export const agentEvaluatorsSchema = z.object({
  agent_id: z.uuid(),
  evaluators: z.array(z.record(z.string(), z.unknown())),
  sample_rate: z.number(),
  updated_at: z.string(),
});
export type AgentEvaluators = z.infer<typeof agentEvaluatorsSchema>;

export const serviceEvaluatorsSchema = agentEvaluatorsSchema.omit({ agent_id: true }).extend({
  service: z.string(),
});
type ServiceEvaluators = z.infer<typeof serviceEvaluatorsSchema>;

/** What a live run ended with, as the runtime reports it (`RuntimeDeps.onRunEnd`). */
export interface LiveRun {
  tenantId: string;
  tenantName: string;
  agentId: string;
  runId: string;
  input: string;
  output: string | null;
  status: string;
  toolCalls: { name: string; arguments: unknown }[];
  tokens: number;
  durationMs: number;
  /** Runs of experiments (`eval:<item>`) are scored there, not sampled here. */
  idempotencyKey?: string;
  /** An ingested run's app: the evaluators attached to the service score it, not an agent's. */
  serviceName?: string;
}

interface Attached {
  evaluators: BoundEvaluator[];
  rate: number;
  at: number;
}

/** How long an agent's attachment is remembered: a change reaches every process within this. */
const CACHE_MS = 5_000;

/**
 * Evaluators attached to an agent score a sample of its live runs (`sample_rate`): after the run
 * ends, off its path, each sampled run gets the evaluators' scores (source `evaluator`), so GET
 * /v1/runs can filter production runs by them. There is no expected output for a live run: the
 * kinds that need one give an error score, the others (judge, JSON, regex, trace limits) score.
 */
export class LiveScoring {
  private readonly cache = new Map<string, Attached | null>();

  constructor(
    private readonly db: Db,
    private readonly deps: EvalDeps,
    /** Named evaluators: an unpinned reference follows the newest version (within the cache's 5 s). */
    private readonly named: EvaluatorResolver,
    private readonly defaultRate: number,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  async set(
    tenantId: string,
    agentId: string,
    body: z.infer<typeof agentEvaluatorsBody>,
  ): Promise<AgentEvaluators> {
    // Every reference must name a live evaluator now (404 otherwise); they are stored as given.
    await this.named.resolve(tenantId, body.evaluators);
    // Only for an agent of this tenant (the foreign key says so too): an id from elsewhere writes nothing.
    const [row] = await this.db.query<Row>(
      `insert into agent_evaluators (agent_id, tenant_id, evaluators, sample_rate)
       select id, tenant_id, $3::jsonb, $4 from agents where id = $1 and tenant_id = $2
       on conflict (agent_id) do update set evaluators = excluded.evaluators, sample_rate = excluded.sample_rate, updated_at = now()
       returning *`,
      [agentId, tenantId, JSON.stringify(body.evaluators), body.sample_rate ?? this.defaultRate],
    );
    this.cache.delete(agentId);
    if (!row) throw notFound('agent', agentId);
    return toAttached(row);
  }

  async get(tenantId: string, agentId: string): Promise<AgentEvaluators> {
    const [row] = await this.db.query<Row>(
      'select * from agent_evaluators where tenant_id = $1 and agent_id = $2',
      [tenantId, agentId],
    );
    if (!row) throw notFound('evaluators of agent', agentId);
    return toAttached(row);
  }

  async clear(tenantId: string, agentId: string): Promise<void> {
    await this.db.query('delete from agent_evaluators where tenant_id = $1 and agent_id = $2', [
      tenantId,
      agentId,
    ]);
    this.cache.delete(agentId);
  }

  /** Evaluators for the runs ingested from an app's traces (its `service.name`); no app row needed. */
  async setService(
    tenantId: string,
    service: string,
    body: z.infer<typeof agentEvaluatorsBody>,
  ): Promise<ServiceEvaluators> {
    await this.named.resolve(tenantId, body.evaluators);
    const [row] = await this.db.query<ServiceRow>(
      `insert into service_evaluators (tenant_id, service_name, evaluators, sample_rate)
       values ($1, $2, $3::jsonb, $4)
       on conflict (tenant_id, service_name) do update set evaluators = excluded.evaluators, sample_rate = excluded.sample_rate, updated_at = now()
       returning *`,
      [tenantId, service, JSON.stringify(body.evaluators), body.sample_rate ?? this.defaultRate],
    );
    this.cache.delete(serviceKey(tenantId, service));
    return toServiceAttached(row!);
  }

  async getService(tenantId: string, service: string): Promise<ServiceEvaluators> {
    const [row] = await this.db.query<ServiceRow>(
      'select * from service_evaluators where tenant_id = $1 and service_name = $2',
      [tenantId, service],
    );
    if (!row) throw notFound('evaluators of service', service);
    return toServiceAttached(row);
  }

  async clearService(tenantId: string, service: string): Promise<void> {
    const gone = await this.db.query(
      'delete from service_evaluators where tenant_id = $1 and service_name = $2 returning 1',
      [tenantId, service],
    );
    this.cache.delete(serviceKey(tenantId, service));
    if (gone.length === 0) throw notFound('evaluators of service', service);
  }

  /** Called as each run ends; never throws, never holds the run up. */
  onRunEnd = (run: LiveRun): void => {
    if (run.idempotencyKey?.startsWith('eval:') || run.status !== 'completed') return;
    void this.score(run).catch((err) => this.log.warn({ err, run_id: run.runId }, 'live evaluators failed'));
  };

  private async score(run: LiveRun): Promise<void> {
    const attached = await this.attached(run.tenantId, run.agentId, run.serviceName);
    if (!attached || this.random() >= attached.rate) return;
    const trace: EvalTrace = {
      run_id: run.runId,
      status: run.status,
      tool_calls: run.toolCalls,
      latency_ms: run.durationMs,
      tokens: run.tokens,
      cost_usd: 0,
    };
    const deadline = new Deadline(120_000);
    const results = await scoreCase(
      attached.evaluators,
      { input: { message: run.input }, output: run.output, expected: null, trace },
      { tenantId: run.tenantId, tenantName: run.tenantName, signal: deadline.signal },
    ).finally(() => deadline.clear());
    const scored = results.filter((r) => r.score !== null);
    if (scored.length === 0) return;
    await this.db.query(
      `insert into scores (id, tenant_id, run_id, name, value, comment, source)
       select x.id, $1, $2, x.name, x.value, x.comment, 'evaluator'
         from unnest($3::uuid[], $4::text[], $5::float8[], $6::text[]) as x(id, name, value, comment)`,
      [
        run.tenantId,
        run.runId,
        scored.map(() => newId()),
        scored.map((r) => r.name),
        scored.map((r) => r.score),
        scored.map((r) => r.reason ?? null),
      ],
    );
  }

  /** An agent's evaluators are cached by its id, an app's by its tenant and service name. */
  private async attached(tenantId: string, agentId: string, service?: string): Promise<Attached | null> {
    const key = service === undefined ? agentId : serviceKey(tenantId, service);
    const hit = this.cache.get(key);
    // Absent entries are remembered too, briefly, so agents without evaluators cost nothing per run.
    if (hit !== undefined && (hit === null || Date.now() - hit.at < CACHE_MS)) return hit;
    const [row] =
      service === undefined
        ? await this.db.query<Row>('select * from agent_evaluators where tenant_id = $1 and agent_id = $2', [
            tenantId,
            agentId,
          ])
        : await this.db.query<ServiceRow>(
            'select * from service_evaluators where tenant_id = $1 and service_name = $2',
            [tenantId, service],
          );
    const value = row
      ? {
          evaluators: bindEvaluators(await this.named.resolve(tenantId, row.evaluators), this.deps),
          rate: row.sample_rate,
          at: Date.now(),
        }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, value);
    if (value === null)
      setTimeout(() => this.cache.get(key) === null && this.cache.delete(key), CACHE_MS).unref();
    return value;
  }
}

interface Row {
  agent_id: string;
  tenant_id: string;
  evaluators: EvaluatorEntry[];
  sample_rate: number;
  updated_at: Date;
}

/** An app's key in the cache: never an agent id (those are UUIDs). */
const serviceKey = (tenantId: string, service: string) => `service:${tenantId}:${service}`;

interface ServiceRow extends Omit<Row, 'agent_id'> {
  service_name: string;
}

const toServiceAttached = (r: ServiceRow): ServiceEvaluators => ({
  service: r.service_name,
  evaluators: r.evaluators,
  sample_rate: Number(r.sample_rate),
  updated_at: iso(r.updated_at)!,
});

const toAttached = (r: Row): AgentEvaluators => ({
  agent_id: r.agent_id,
  evaluators: r.evaluators,
  sample_rate: Number(r.sample_rate),
  updated_at: iso(r.updated_at)!,
});
