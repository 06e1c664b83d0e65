import {
  agentWorkVisibleSql,
  isPrivate,
  type Viewer,
  visibleParam,
  visibleSql,
} from '../../auth/ownership.ts';
import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import type { LiveBus } from '../../events/bus.ts';
import { followToEnd } from '../../events/follow-to-end.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { type FollowOptions, hasEventsAfter, type LoggedEvent, readEvents } from '../../events/log.ts';
import { traceparentOf } from '../../observability/spans.ts';
import { enqueueTask } from '../../tasks/enqueue.ts';
import { type DatasetService, itemsAt } from '../datasets/datasets.ts';
import type { EvaluatorResolver } from '../evaluators/named.ts';
import { type EvaluatorSpec, isRef } from '../evaluators/registry.ts';
import { type Change, compareExperiments } from './compare.ts';
import { type OutputScoring, recordOutput } from './external.ts';
import { toItem } from './item-row.ts';
import { stopExperiment } from './items-sql.ts';
import type {
  Comparison,
  CreateExperimentInput,
  Experiment,
  ExperimentItem,
  ExperimentSubject,
  PromptSubject,
  ReportOutput,
  Summary,
} from './schema.ts';
import { summarise } from './summary.ts';

/** Lanes when `concurrency` is not given (fewer when the workers have fewer slots). */
const DEFAULT_CONCURRENCY = 4;

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

/** An agent as experiments read it. */
interface SubjectAgent {
  id: string;
  name: string;
  /** The agent's current version. */
  version: number;
  owner: string | null;
  visibility: string;
}

/**
 * What experiments need to know of agents (AgentService satisfies it). With a viewer, another
 * user's private agent is not found.
 */
export interface ExperimentAgents {
  resolve(tenantId: string, ref: string, viewer?: Viewer): Promise<SubjectAgent>;
  get(tenantId: string, id: string, viewer?: Viewer): Promise<SubjectAgent>;
  /** A pinned reference (`name@3`, `name@production`) as the agent's id and the version it pins. */
  pinOf(
    tenantId: string,
    pinned: string,
    viewer?: Viewer,
    version?: number,
  ): Promise<{ agentId: string; version?: number }>;
  /** 404 for a version the agent never had. */
  at(tenantId: string, id: string, version?: number, viewer?: Viewer): Promise<unknown>;
}

/**
 * An experiment (`e`) the viewer may see, as SQL: its own visibility, its agent's (its results are
 * the agent's answers) and its dataset's (its items are the dataset's), each as of now.
 */
const experimentVisibleSql = (n: number) =>
  `(${visibleSql(n, 'e.')} and ${agentWorkVisibleSql(n, 'e.')}
    and ($${n}::text is null or not exists (
      select 1 from datasets vd where vd.id = e.dataset_id and not ${visibleSql(n, 'vd.')})))`;

interface ExperimentRow {
  id: string;
  name: string;
  dataset_id: string;
  subject: ExperimentSubject;
  agent_id: string | null;
  agent_name: string | null;
  agent_version: number | null;
  prompt: PromptSubject | null;
  dataset_version: number | null;
  split: string | null;
  baseline_experiment_id: string | null;
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
  owner: string | null;
  visibility: Experiment['visibility'];
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
  subject: r.subject,
  agent_id: r.agent_id,
  agent_name: r.agent_name,
  agent_version: r.agent_version,
  prompt: r.prompt,
  dataset_version: r.dataset_version,
  split: r.split,
  baseline_experiment_id: r.baseline_experiment_id,
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
  owner: r.owner,
  visibility: r.visibility,
  created_at: iso(r.created_at)!,
  completed_at: iso(r.completed_at),
});

/**
 * Experiments: one agent (optionally a version) over a dataset, scored by a set of evaluators. The
 * items are copied when it starts; `concurrency` lanes (queue tasks, `lane.ts`) work through them,
 * so an experiment survives a crash or restart (a lane's task runs again, skipping finished items)
 * and shares the queue's workers, budgets and tracing. An experiment is its starter's; it is private
 * when asked, or when its agent or dataset is (what a private agent produced is as private as the
 * agent), and with a viewer, another user's private one is not found (404).
 */
export class ExperimentService {
  constructor(
    private readonly db: Db,
    private readonly datasets: DatasetService,
    private readonly agents: ExperimentAgents,
    private readonly teams: ExperimentTeams,
    /** Wakes the experiment's followers (its event stream). */
    private readonly bus: LiveBus,
    /** Tells the experiment's followers that it logged something. */
    private readonly announce: (experimentId: string) => void = () => {},
    /**
     * The most lanes that can run at once (the live workers' slots, under the tenant's cap), or null
     * when that is unknown (no worker alive yet): a higher `concurrency` is refused.
     */
    private readonly laneCapacity: () => Promise<number | null> = async () => null,
    /**
     * What the other subjects need: the gateway's check of a prompt's model (an unknown one is a 404
     * before anything runs), and the evaluators that score the caller's reported outputs.
     */
    private readonly others: { checkModel?(model: string): void; outputs?: OutputScoring } = {},
    /** Named evaluators: a reference is pinned to its version as the experiment starts. */
    private readonly named?: EvaluatorResolver,
  ) {}

  async create(
    tenantId: string,
    input: CreateExperimentInput,
    who: Actor,
    viewer?: Viewer,
  ): Promise<Experiment> {
    const kind = subjectOf(input);
    // The caller's function runs in the caller's process: its concurrency is the caller's own.
    const concurrency =
      kind === 'external'
        ? (input.concurrency ?? DEFAULT_CONCURRENCY)
        : await this.concurrencyOf(input.concurrency);
    if (input.prompt) this.others.checkModel?.(input.prompt.model);
    const { agent, version, team } = await this.subject(tenantId, input, viewer);
    const dataset = await this.datasets.get(tenantId, input.dataset, viewer);
    const visibility =
      input.visibility === 'private' || (agent && isPrivate(agent)) || isPrivate(dataset)
        ? 'private'
        : 'tenant';
    // The dataset version it runs, pinned now: the items come from it whatever changes meanwhile.
    const datasetVersion = input.dataset_version ?? dataset.version;
    if (datasetVersion > dataset.version)
      throw notFound('dataset version', `${dataset.name}@${input.dataset_version}`);
    const split = input.split ?? null;
    // References pinned now (each spec recorded with the version it came from): a later version of
    // a named evaluator does not change what this experiment scores with, nor what it says it ran.
    const evaluators = input.evaluators.some(isRef)
      ? await (this.named ?? noNamed).resolve(tenantId, input.evaluators)
      : input.evaluators;
    if (input.baseline_experiment) {
      const baseline = await this.get(tenantId, input.baseline_experiment, viewer);
      if (baseline.dataset_id !== dataset.id)
        throw new AppError('bad_request', `baseline experiment ${baseline.name} ran on another dataset`);
    }
    const id = newId();
    const total = await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into experiments (id, tenant_id, name, dataset_id, agent_id, agent_name, agent_version, evaluators,
                                  concurrency, budget, status, total, created_by, team_id, team_name, owner, visibility,
                                  dataset_version, split, subject, prompt, baseline_experiment_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, 'running', 0, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19::jsonb, $20)`,
        [
          id,
          tenantId,
          input.name ??
            `${team?.name ?? agent?.name ?? input.prompt?.model ?? 'function'} on ${dataset.name}`,
          dataset.id,
          agent?.id ?? null,
          agent?.name ?? null,
          version ?? null,
          JSON.stringify(evaluators),
          concurrency,
          JSON.stringify(input.budget ?? {}),
          who.actor,
          team?.id ?? null,
          team?.name ?? null,
          viewer?.userId ?? null,
          visibility,
          datasetVersion,
          split,
          kind,
          input.prompt ? JSON.stringify(input.prompt) : null,
          input.baseline_experiment ?? null,
        ],
      );
      // The items of the pinned version (of its split), copied: the dataset's later changes do not reach it.
      const [copied] = await tx.query<{ n: number }>(
        `with ins as (
           insert into experiment_items (id, experiment_id, tenant_id, dataset_item_id, seq, input, expected, status)
           select gen_random_uuid(), $1, $2, d.id, (row_number() over (order by d.id))::int,
                  d.input, d.expected, 'pending'
             from ${itemsAt('$3', '$4')} d where ($5::text is null or $5 = any(d.tags))
           returning 1)
         update experiments set total = (select count(*) from ins) where id = $1 returning total as n`,
        [id, tenantId, dataset.id, datasetVersion, split],
      );
      // Nothing to run: refused, and the experiment is not kept.
      if (!copied?.n)
        throw new AppError(
          'unprocessable',
          `dataset ${dataset.name}@${datasetVersion} has no items${split === null ? '' : ` tagged ${split} (the split asked for)`}`,
        );
      await writeJournal(tx, who, {
        action: 'experiment.create',
        target: id,
        data: {
          dataset: dataset.name,
          subject: kind,
          ...(agent && { agent: agent.name }),
          ...(input.prompt && { model: input.prompt.model }),
          agent_version: version ?? null,
          dataset_version: datasetVersion,
          ...(split !== null && { split }),
          ...(team && { team: team.name }),
        },
      });
      return copied?.n ?? 0;
    });
    const experiment = await this.get(tenantId, id);
    if (kind !== 'external') await this.startLanes(tenantId, experiment, Math.min(concurrency, total), who);
    return experiment;
  }

  /**
   * Each lane is a queue task that holds one worker slot until the items run out, so lanes beyond
   * the slots would only wait: a `concurrency` that cannot run is refused, naming the limit, rather
   * than silently run at the workers' pace. Unasked, it is 4, or the limit when that is lower.
   */
  private async concurrencyOf(asked: number | undefined): Promise<number> {
    const limit = await this.laneCapacity();
    if (asked === undefined) return Math.min(DEFAULT_CONCURRENCY, limit ?? DEFAULT_CONCURRENCY);
    if (limit !== null && asked > limit)
      throw new AppError(
        'validation_error',
        `concurrency ${asked} is more than the ${limit} items the queue's workers can run at once (tasks.workers across live workers, under tasks.tenant_max_running); ask for ${limit} or fewer`,
        { details: { limit } },
      );
    return asked;
  }

  /**
   * What the experiment runs: an agent at the version asked or, unasked, at the one it has now; or a
   * team through its entry agent (its members at the versions its spec pins).
   */
  private async subject(
    tenantId: string,
    input: CreateExperimentInput,
    viewer?: Viewer,
  ): Promise<{ agent?: SubjectAgent; version?: number; team?: { id: string; name: string } }> {
    // A prompt or the caller's function: no agent.
    if (input.agent === undefined && input.team === undefined) return {};
    if (input.team !== undefined) {
      const team = await this.teams.resolve(tenantId, input.team);
      const agent = await this.agents.get(tenantId, team.entry_agent_id, viewer);
      return { agent, version: undefined, team };
    }
    // `name@3` or `name@production` (the version the label points at as the experiment starts).
    const pin = await this.agents.pinOf(tenantId, input.agent!, viewer, input.agent_version);
    const agent = await this.agents.get(tenantId, pin.agentId, viewer);
    const asked = pin.version;
    if (asked !== undefined) await this.agents.at(tenantId, agent.id, asked, viewer);
    // Unpinned, it pins the version the agent has now: an edit during the experiment must not
    // split its items between two versions.
    return { agent, version: asked ?? agent.version, team: undefined };
  }

  /** One queue task per lane; a lane claims items one at a time until none is left. */
  private async startLanes(tenantId: string, experiment: Experiment, lanes: number, who: Actor) {
    const { id, name } = experiment;
    for (let lane = 0; lane < lanes; lane++) {
      await enqueueTask(this.db, {
        id: newId(),
        tenant_id: tenantId,
        // A task names an agent; a prompt experiment has none, so its lanes name the experiment (no
        // agent has that id: the task reads as one whose agent is gone, which tasks outlive).
        agent_id: experiment.agent_id ?? experiment.id,
        task_type: EXPERIMENT_TASK_TYPE,
        // Read in the task list next to the user's own tasks: what it is for, not its ids.
        title: `Experiment ${name}: lane ${lane + 1} of ${lanes}`,
        description:
          `Runs the items of experiment ${name} (${id}) one at a time, with ${lanes === 1 ? 'no other lane' : `${lanes - 1} other lane${lanes === 2 ? '' : 's'}`}; ` +
          `its results are on the experiment's page, /experiments/${id}.`,
        payload: { experiment_id: id, lane } satisfies LanePayload,
        priority: 0,
        // A lane that fails (its store went away) starts again where it was: nothing finished is redone.
        max_attempts: 10,
        created_by: who.actor,
        traceparent: traceparentOf(who.traceId ? { traceId: who.traceId, spanId: who.spanId } : undefined),
      });
    }
  }

  async get(tenantId: string, id: string, viewer?: Viewer): Promise<Experiment> {
    const [row] = await this.db.query<ExperimentRow>(
      `select ${columns} from experiments e where e.tenant_id = $1 and e.id = $2 and ${experimentVisibleSql(3)}`,
      [tenantId, id, visibleParam(viewer)],
    );
    if (!row) throw notFound('experiment', id);
    return toExperiment(row);
  }

  async getWithSummary(
    tenantId: string,
    id: string,
    viewer?: Viewer,
  ): Promise<Experiment & { summary: Summary }> {
    const e = await this.get(tenantId, id, viewer);
    return { ...e, summary: await summarise(this.db, id, e.evaluators as EvaluatorSpec[]) };
  }

  list(tenantId: string, q: PageQuery & { dataset?: string; status?: string }, viewer?: Viewer) {
    return listPage(
      this.db,
      q,
      {
        select: columns,
        from: `from experiments e where e.tenant_id = $1 and ($2::uuid is null or e.dataset_id = $2)
               and ($3::text is null or e.status = $3) and ${experimentVisibleSql(4)}`,
        orderBy: 'e.id desc',
        params: [tenantId, q.dataset ?? null, q.status ?? null, visibleParam(viewer)],
      },
      toExperiment,
    );
  }

  async items(
    tenantId: string,
    id: string,
    q: PageQuery & { status?: string; failed?: string },
    viewer?: Viewer,
  ) {
    await this.get(tenantId, id, viewer);
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
  async cancel(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<Experiment> {
    const e = await this.get(tenantId, id, viewer);
    if (e.status !== 'running')
      throw new AppError('conflict', `experiment ${id} is ${e.status}, not running`);
    await stopExperiment(this.db, tenantId, id, 'cancelled', `cancelled by ${who.actor}`);
    await writeJournal(this.db, who, { action: 'experiment.cancel', target: id });
    this.announce(id);
    return this.get(tenantId, id);
  }

  /** Carries on a stopped experiment (budget spent, cancelled) with the items not yet finished. */
  async resume(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<Experiment> {
    const e = await this.get(tenantId, id, viewer);
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
    // The caller's function: the caller reports the rest; there is nothing to run here.
    if (e.subject !== 'external') await this.startLanes(tenantId, e, Math.min(e.concurrency, open), who);
    return this.get(tenantId, id);
  }

  /**
   * Records an output of the caller's function (subject `external`) and scores it with the
   * experiment's evaluators. The first report of an item wins: a repeat answers the item as recorded.
   */
  async reportOutput(
    tenantId: string,
    id: string,
    itemId: string,
    report: ReportOutput,
    viewer?: Viewer,
  ): Promise<ExperimentItem> {
    const e = await this.get(tenantId, id, viewer);
    if (e.subject !== 'external')
      throw new AppError(
        'conflict',
        `experiment ${id} runs its ${e.subject} itself: only an experiment with subject external takes outputs`,
      );
    if (!this.others.outputs) throw new Error('experiments were built without output scoring');
    const item = await recordOutput(this.db, this.others.outputs, tenantId, e, itemId, report);
    this.announce(id);
    return item;
  }

  async delete(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<void> {
    const e = await this.get(tenantId, id, viewer);
    if (e.status === 'running')
      throw new AppError('conflict', `experiment ${id} is running: cancel it first`);
    await this.db.query('delete from experiments where tenant_id = $1 and id = $2', [tenantId, id]);
    await writeJournal(this.db, who, { action: 'experiment.delete', target: id });
  }

  /** The experiment's progress events after `after` (item finished, stopped, resumed, completed). */
  async events(tenantId: string, id: string, after: number, viewer?: Viewer): Promise<LoggedEvent[]> {
    await this.get(tenantId, id, viewer);
    return readEvents(this.db, id, after);
  }

  /**
   * The experiment's events after `options.afterSeq`, live, until it has ended with nothing more
   * logged: after its end, an item running when it was cancelled may still log its result, and a
   * resume goes on. Returns whether it ended. Check the caller may see it (`get`) first.
   */
  async *follow(
    tenantId: string,
    id: string,
    options: FollowOptions,
    viewer?: Viewer,
  ): AsyncGenerator<LoggedEvent, boolean> {
    const now = await this.get(tenantId, id, viewer);
    // Ended with nothing after the client's last event: only the summary is left to send.
    if (now.status !== 'running' && !(await hasEventsAfter(this.db, id, options.afterSeq))) return true;
    return yield* followToEnd(this.db, this.bus, id, options, {
      ends: (type) => experimentEndEvents.includes(type),
      reopens: (type) => type === 'experiment.resumed',
      settled: async () => (await this.get(tenantId, id, viewer)).status !== 'running',
    });
  }

  async compare(
    tenantId: string,
    ids: readonly string[],
    only?: Change,
    viewer?: Viewer,
    baseline: string = ids[0]!,
  ): Promise<Comparison> {
    // The baseline first: the others are measured against it.
    ids = [baseline, ...ids.filter((id) => id !== baseline)];
    const experiments = await Promise.all(ids.map((id) => this.getWithSummary(tenantId, id, viewer)));
    return compareExperiments(this.db, experiments, only);
  }
}

/** The subject a create body names (the schema lets exactly one through). */
function subjectOf(input: CreateExperimentInput): ExperimentSubject {
  if (input.team !== undefined) return 'team';
  if (input.prompt !== undefined) return 'prompt';
  if (input.agent !== undefined) return 'agent';
  return 'external';
}

const noNamed: EvaluatorResolver = {
  resolve: async () => {
    throw new AppError('bad_request', 'named evaluators are not available here');
  },
};
