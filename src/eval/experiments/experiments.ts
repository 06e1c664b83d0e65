import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { type LoggedEvent, readEvents } from '../../events/log.ts';
import { traceparentOf } from '../../observability/spans.ts';
import { enqueueTask } from '../../tasks/enqueue.ts';
import type { DatasetService } from '../datasets/datasets.ts';
import type { EvaluatorSpec } from '../evaluators/registry.ts';
import type { ScoreResult } from '../evaluators/score.ts';
import { compareExperiments } from './compare.ts';
import { stopExperiment } from './items-sql.ts';
import type { Comparison, CreateExperimentInput, Experiment, ExperimentItem, Summary } from './schema.ts';
import { summarise } from './summary.ts';

/** The queue's task type of an experiment's lanes (`lane.ts` handles it). */
export const EXPERIMENT_TASK_TYPE = 'eval.experiment';

/** The events after which an experiment's stream has nothing more to say, unless it is resumed. */
export const experimentEndEvents: readonly string[] = ['experiment.completed', 'experiment.stopped'];

export interface LanePayload {
  experiment_id: string;
  lane: number;
}

/** What experiments need to know of teams (MultiAgentService satisfies it). */
export interface ExperimentTeams {
  resolve(tenantId: string, ref: string): Promise<{ id: string; name: string; entry_agent_id: string }>;
}

/** What experiments need to know of agents (AgentService satisfies it). */
export interface ExperimentAgents {
  resolve(tenantId: string, ref: string): Promise<{ id: string; name: string }>;
  get(tenantId: string, id: string): Promise<{ id: string; name: string }>;
  /** 404 for a version the agent never had. */
  at(tenantId: string, id: string, version?: number): Promise<unknown>;
}

interface ExperimentRow {
  id: string;
  name: string;
  dataset_id: string;
  agent_id: string;
  agent_name: string;
  agent_version: number | null;
  team_id: string | null;
  team_name: string | null;
  evaluators: EvaluatorSpec[];
  concurrency: number;
  budget: Record<string, number>;
  status: Experiment['status'];
  stop_reason: string | null;
  total: number;
  judge_cost: number;
  created_by: string | null;
  created_at: Date;
  completed_at: Date | null;
  pending: number;
  running: number;
  completed: number;
  errors: number;
}

const columns = `e.*,
  (select count(*) from experiment_items i where i.experiment_id = e.id and i.status = 'pending')::int as pending,
  (select count(*) from experiment_items i where i.experiment_id = e.id and i.status = 'running')::int as running,
  (select count(*) from experiment_items i where i.experiment_id = e.id and i.status = 'completed')::int as completed,
  (select count(*) from experiment_items i where i.experiment_id = e.id and i.status = 'error')::int as errors`;

const toExperiment = (r: ExperimentRow): Experiment => ({
  id: r.id,
  name: r.name,
  dataset_id: r.dataset_id,
  agent_id: r.agent_id,
  agent_name: r.agent_name,
  agent_version: r.agent_version,
  team_id: r.team_id,
  team_name: r.team_name,
  evaluators: r.evaluators,
  concurrency: r.concurrency,
  budget: r.budget,
  status: r.status,
  stop_reason: r.stop_reason,
  progress: {
    total: r.total,
    pending: r.pending,
    running: r.running,
    completed: r.completed,
    errors: r.errors,
    fraction: r.total === 0 ? 1 : Math.round(((r.completed + r.errors) / r.total) * 1e4) / 1e4,
  },
  judge_cost_usd: Number(r.judge_cost),
  created_by: r.created_by,
  created_at: iso(r.created_at)!,
  completed_at: iso(r.completed_at),
});

interface ItemRow {
  id: string;
  seq: number;
  dataset_item_id: string;
  input: ExperimentItem['input'];
  expected: unknown;
  status: ExperimentItem['status'];
  output: string | null;
  scores: ScoreResult[];
  run_id: string | null;
  error_code: string | null;
  error_message: string | null;
  latency_ms: number | null;
  tokens: number | null;
  cost: number | null;
}

const toItem = (r: ItemRow): ExperimentItem => ({
  id: r.id,
  seq: r.seq,
  dataset_item_id: r.dataset_item_id,
  input: r.input,
  expected: r.expected ?? null,
  status: r.status,
  output: r.output,
  scores: r.scores,
  run_id: r.run_id,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  latency_ms: r.latency_ms,
  tokens: r.tokens,
  cost_usd: r.cost,
});

/** `name@3`: the agent `name`, version 3. */
export function parseAgentRef(ref: string): { agent: string; version?: number } {
  const at = /^(.+)@(\d{1,9})$/.exec(ref);
  return at ? { agent: at[1]!, version: Number(at[2]) } : { agent: ref };
}

/**
 * Experiments: one agent (optionally a version) over a dataset, scored by a set of evaluators. The
 * items are copied when it starts; `concurrency` lanes (queue tasks, `lane.ts`) work through them,
 * so an experiment survives a crash or restart (a lane's task runs again, skipping finished items)
 * and shares the queue's workers, budgets and tracing.
 */
export class ExperimentService {
  constructor(
    private readonly db: Db,
    private readonly datasets: DatasetService,
    private readonly agents: ExperimentAgents,
    private readonly teams: ExperimentTeams,
    /** Tells the experiment's followers (its event stream) that it logged something. */
    private readonly announce: (experimentId: string) => void = () => {},
  ) {}

  async create(tenantId: string, input: CreateExperimentInput, who: Actor): Promise<Experiment> {
    const { agent, version, team } = await this.subject(tenantId, input);
    const dataset = await this.datasets.get(tenantId, input.dataset);
    if (dataset.item_count === 0) throw new AppError('unprocessable', `dataset ${dataset.name} has no items`);
    const id = newId();
    const lanes = Math.min(input.concurrency, dataset.item_count);
    const total = await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into experiments (id, tenant_id, name, dataset_id, agent_id, agent_name, agent_version, evaluators,
                                  concurrency, budget, status, total, created_by, team_id, team_name)
         values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, 'running', 0, $11, $12, $13)`,
        [
          id,
          tenantId,
          input.name ?? `${team?.name ?? agent.name} on ${dataset.name}`,
          dataset.id,
          agent.id,
          agent.name,
          version ?? null,
          JSON.stringify(input.evaluators),
          input.concurrency,
          JSON.stringify(input.budget ?? {}),
          who.actor,
          team?.id ?? null,
          team?.name ?? null,
        ],
      );
      // The items as they are now: editing the dataset later does not change this experiment.
      const [copied] = await tx.query<{ n: number }>(
        `with ins as (
           insert into experiment_items (id, experiment_id, tenant_id, dataset_item_id, seq, input, expected, status)
           select gen_random_uuid(), $1, $2, d.id, (row_number() over (order by d.id))::int,
                  d.input, d.expected, 'pending'
             from dataset_items d where d.dataset_id = $3
           returning 1)
         update experiments set total = (select count(*) from ins) where id = $1 returning total as n`,
        [id, tenantId, dataset.id],
      );
      await writeJournal(tx, who, {
        action: 'experiment.create',
        target: id,
        data: {
          dataset: dataset.name,
          agent: agent.name,
          agent_version: version ?? null,
          ...(team && { team: team.name }),
        },
      });
      return copied?.n ?? 0;
    });
    if (total === 0) throw new AppError('unprocessable', `dataset ${dataset.name} has no items`);
    await this.startLanes(tenantId, id, agent.id, lanes, who);
    return this.get(tenantId, id);
  }

  /** What the experiment runs: an agent (at a version, or the latest), or a team through its entry agent. */
  private async subject(tenantId: string, input: CreateExperimentInput) {
    if (input.team !== undefined) {
      const team = await this.teams.resolve(tenantId, input.team);
      const agent = await this.agents.get(tenantId, team.entry_agent_id);
      return { agent, version: undefined, team };
    }
    const ref = parseAgentRef(input.agent!);
    if (ref.version !== undefined && input.agent_version !== undefined && ref.version !== input.agent_version)
      throw new AppError(
        'validation_error',
        `agent ${input.agent} and agent_version ${input.agent_version} disagree`,
      );
    const agent = await this.agents.resolve(tenantId, ref.agent);
    const version = input.agent_version ?? ref.version;
    if (version !== undefined) await this.agents.at(tenantId, agent.id, version);
    return { agent, version, team: undefined };
  }

  /** One queue task per lane; a lane claims items one at a time until none is left. */
  private async startLanes(tenantId: string, id: string, agentId: string, lanes: number, who: Actor) {
    for (let lane = 0; lane < lanes; lane++) {
      await enqueueTask(this.db, {
        id: newId(),
        tenant_id: tenantId,
        agent_id: agentId,
        task_type: EXPERIMENT_TASK_TYPE,
        title: `experiment ${id} lane ${lane}`,
        description: '',
        payload: { experiment_id: id, lane } satisfies LanePayload,
        priority: 0,
        // A lane that fails (its store went away) starts again where it was: nothing finished is redone.
        max_attempts: 10,
        created_by: who.actor,
        traceparent: traceparentOf(who.traceId ? { traceId: who.traceId, spanId: who.spanId } : undefined),
      });
    }
  }

  async get(tenantId: string, id: string): Promise<Experiment> {
    const [row] = await this.db.query<ExperimentRow>(
      `select ${columns} from experiments e where e.tenant_id = $1 and e.id = $2`,
      [tenantId, id],
    );
    if (!row) throw notFound('experiment', id);
    return toExperiment(row);
  }

  async getWithSummary(tenantId: string, id: string): Promise<Experiment & { summary: Summary }> {
    const e = await this.get(tenantId, id);
    return { ...e, summary: await summarise(this.db, id, e.evaluators as EvaluatorSpec[]) };
  }

  list(tenantId: string, q: PageQuery & { dataset?: string; status?: string }) {
    return listPage(
      this.db,
      q,
      {
        select: columns,
        from: `from experiments e where e.tenant_id = $1 and ($2::uuid is null or e.dataset_id = $2)
               and ($3::text is null or e.status = $3)`,
        orderBy: 'e.id desc',
        params: [tenantId, q.dataset ?? null, q.status ?? null],
      },
      toExperiment,
    );
  }

  async items(tenantId: string, id: string, q: PageQuery & { status?: string; failed?: string }) {
    await this.get(tenantId, id);
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: `from experiment_items where experiment_id = $1 and ($2::text is null or status = $2)
               and ($3::text is null or exists (select 1 from jsonb_array_elements(scores) s
                                                where s->>'name' = $3 and not coalesce((s->>'pass')::boolean, false)))`,
        orderBy: 'seq',
        params: [id, q.status ?? null, q.failed ?? null],
      },
      toItem,
    );
  }

  /** Stops handing out items; those running finish and are recorded. */
  async cancel(tenantId: string, id: string, who: Actor): Promise<Experiment> {
    const e = await this.get(tenantId, id);
    if (e.status !== 'running')
      throw new AppError('conflict', `experiment ${id} is ${e.status}, not running`);
    await stopExperiment(this.db, tenantId, id, 'cancelled', `cancelled by ${who.actor}`);
    await writeJournal(this.db, who, { action: 'experiment.cancel', target: id });
    this.announce(id);
    return this.get(tenantId, id);
  }

  /** Carries on a stopped experiment (budget spent, cancelled) with the items not yet finished. */
  async resume(tenantId: string, id: string, who: Actor): Promise<Experiment> {
    const e = await this.get(tenantId, id);
    if (e.status === 'running' || e.status === 'completed')
      throw new AppError('conflict', `experiment ${id} is ${e.status}: nothing to resume`);
    const open = e.progress.pending + e.progress.running;
    if (open === 0) throw new AppError('conflict', `experiment ${id} has no unfinished items`);
    await this.db.query(
      `with e as (
         update experiments set status = 'running', stop_reason = null, completed_at = null, updated_at = now()
          where tenant_id = $1 and id = $2 returning id)
       insert into events (tenant_id, stream_id, type, data)
       select $1, $2, 'experiment.resumed', '{}'::jsonb from e`,
      [tenantId, id],
    );
    await writeJournal(this.db, who, { action: 'experiment.resume', target: id });
    this.announce(id);
    await this.startLanes(tenantId, id, e.agent_id, Math.min(e.concurrency, open), who);
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    const e = await this.get(tenantId, id);
    if (e.status === 'running')
      throw new AppError('conflict', `experiment ${id} is running: cancel it first`);
    await this.db.query('delete from experiments where tenant_id = $1 and id = $2', [tenantId, id]);
    await writeJournal(this.db, who, { action: 'experiment.delete', target: id });
  }

  /** The experiment's progress events after `after` (item finished, stopped, resumed, completed). */
  async events(tenantId: string, id: string, after: number): Promise<LoggedEvent[]> {
    await this.get(tenantId, id);
    return readEvents(this.db, id, after);
  }

  async compare(
    tenantId: string,
    ids: readonly string[],
    only?: 'improved' | 'regressed' | 'unchanged',
  ): Promise<Comparison> {
    const experiments = await Promise.all(ids.map((id) => this.getWithSummary(tenantId, id)));
    return compareExperiments(this.db, experiments, only);
  }
}
