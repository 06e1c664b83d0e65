import type { Viewer } from '../../auth/ownership.ts';
import type { Db, Queryable } from '../../db/db.ts';
import { AppError, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { parseRef } from '../evaluators/registry.ts';
import { checkGate } from './gate.ts';
import type { Gate, GateInput, Label, MoveResult } from './schema.ts';

/** What labels need of agents (AgentService satisfies it): another user's private agent is a 404. */
export interface LabelAgents {
  resolve(tenantId: string, ref: string, viewer?: Viewer): Promise<{ id: string; name: string }>;
  /** 404 naming the versions the agent has, for one it never had. */
  at(tenantId: string, id: string, version?: number, viewer?: Viewer): Promise<unknown>;
}

/** What gates need of named evaluators (EvaluatorService satisfies it). */
export interface LabelEvaluators {
  get(tenantId: string, ref: string): Promise<{ id: string; name: string; version: number }>;
}

/** What gates need of datasets (DatasetService satisfies it). */
export interface LabelDatasets {
  get(tenantId: string, ref: string, viewer?: Viewer): Promise<{ id: string; name: string }>;
}

interface LabelRow {
  agent_id: string;
  label: string;
  version: number | null;
  gate: Gate | null;
  updated_by: string;
  updated_at: Date;
}

const toLabel = (r: LabelRow): Label => ({
  agent_id: r.agent_id,
  label: r.label,
  version: r.version,
  // Gates set before splits existed are of the whole dataset.
  gate: r.gate && { ...r.gate, split: r.gate.split ?? null },
  updated_by: r.updated_by,
  updated_at: r.updated_at.toISOString(),
});

const columns = 'agent_id, label, version, gate, updated_by, updated_at';

/**
 * Labels on agent versions (migration 0072): `production`, `staging`, any slug, each pointing at
 * one version of one agent, read by `name@production` wherever a version pin is taken
 * (agents/versions.ts `labelledVersion`). Every move, removal and gate change writes a journal row
 * in the same transaction. A label with a gate moves only to a version whose newest completed
 * experiment on the gate's dataset reaches the gate (gate.ts); otherwise 409 with the evidence.
 * Moving a label is a write key's; setting or removing its gate is an admin's (the routes say so),
 * so those who ship cannot also take the bar away.
 */
export class LabelService {
  constructor(
    private readonly db: Db,
    private readonly agents: LabelAgents,
    private readonly datasets: LabelDatasets,
    private readonly evaluators: LabelEvaluators,
  ) {}

  async list(tenantId: string, ref: string, viewer?: Viewer): Promise<Label[]> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    const rows = await this.db.query<LabelRow>(
      `select ${columns} from agent_labels where tenant_id = $1 and agent_id = $2 order by label`,
      [tenantId, agent.id],
    );
    return rows.map(toLabel);
  }

  async get(tenantId: string, ref: string, label: string, viewer?: Viewer): Promise<Label> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    const row = await this.row(this.db, tenantId, agent.id, label);
    if (!row) throw noLabel(agent.name, label);
    return toLabel(row);
  }

  /** Points `label` at `version` (making the label when new), through its gate if it has one. */
  async move(
    tenantId: string,
    ref: string,
    label: string,
    version: number,
    who: Actor,
    viewer?: Viewer,
    message?: string,
  ): Promise<MoveResult> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    await this.agents.at(tenantId, agent.id, version, viewer);
    return this.db.transaction(async (tx) => {
      // The row locked: two moves of one label at once take turns, each journaled with its `from`.
      const before = await this.row(tx, tenantId, agent.id, label, true);
      const evidence = before?.gate ? await checkGate(tx, tenantId, agent.id, version, before.gate) : null;
      if (evidence && !evidence.passed) {
        throw new AppError(
          'conflict',
          `${agent.name}@${label} cannot move to version ${version}: ${evidence.failures.join('; ')}`,
          { details: evidence },
        );
      }
      const [row] = await tx.query<LabelRow>(
        `insert into agent_labels (agent_id, label, tenant_id, version, updated_by)
         values ($1, $2, $3, $4, $5)
         on conflict (agent_id, label) do update set version = excluded.version,
           updated_by = excluded.updated_by, updated_at = now()
         returning ${columns}`,
        [agent.id, label, tenantId, version, who.actor],
      );
      await writeJournal(tx, who, {
        action: 'agent.label.move',
        target: agent.id,
        data: {
          label,
          from: before?.version ?? null,
          to: version,
          ...(message && { message }),
          ...(evidence?.experiment && {
            gate: { experiment_id: evidence.experiment.id, score: evidence.score },
          }),
        },
      });
      return { label: toLabel(row!), previous_version: before?.version ?? null, evidence };
    });
  }

  /** Takes the label off its version; a gated label keeps its gate (only an admin removes that). */
  async remove(tenantId: string, ref: string, label: string, who: Actor, viewer?: Viewer): Promise<void> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    await this.db.transaction(async (tx) => {
      const before = await this.row(tx, tenantId, agent.id, label, true);
      if (before?.version == null) throw noLabel(agent.name, label);
      if (before.gate) {
        await tx.query(
          `update agent_labels set version = null, updated_by = $4, updated_at = now()
            where tenant_id = $1 and agent_id = $2 and label = $3`,
          [tenantId, agent.id, label, who.actor],
        );
      } else await deleteLabel(tx, tenantId, agent.id, label);
      await writeJournal(tx, who, {
        action: 'agent.label.remove',
        target: agent.id,
        data: { label, from: before.version },
      });
    });
  }

  /** Sets (or replaces) the label's gate; the label need not point anywhere yet. */
  async setGate(
    tenantId: string,
    ref: string,
    label: string,
    input: GateInput,
    who: Actor,
    viewer?: Viewer,
  ): Promise<Label> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    const dataset = await this.datasets.get(tenantId, input.dataset, viewer);
    const named = await this.namedOf(tenantId, input.evaluator);
    const gate: Gate = {
      dataset_id: dataset.id,
      dataset: dataset.name,
      split: input.split ?? null,
      evaluator: named?.name ?? (input.evaluator as string | undefined) ?? null,
      evaluator_ref: named ?? null,
      threshold: input.threshold,
      floors: input.floors ?? {},
    };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<LabelRow>(
        `insert into agent_labels (agent_id, label, tenant_id, gate, updated_by)
         values ($1, $2, $3, $4::jsonb, $5)
         on conflict (agent_id, label) do update set gate = excluded.gate,
           updated_by = excluded.updated_by, updated_at = now()
         returning ${columns}`,
        [agent.id, label, tenantId, JSON.stringify(gate), who.actor],
      );
      await writeJournal(tx, who, { action: 'agent.label.gate', target: agent.id, data: { label, gate } });
      return toLabel(row!);
    });
  }

  /** Removes the label's gate; a label that points nowhere then is gone. */
  async removeGate(tenantId: string, ref: string, label: string, who: Actor, viewer?: Viewer): Promise<void> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    await this.db.transaction(async (tx) => {
      const before = await this.row(tx, tenantId, agent.id, label, true);
      if (!before?.gate) throw new AppError('not_found', `${agent.name}@${label} has no gate`);
      if (before.version === null) await deleteLabel(tx, tenantId, agent.id, label);
      else
        await tx.query(
          `update agent_labels set gate = null, updated_by = $4, updated_at = now()
            where tenant_id = $1 and agent_id = $2 and label = $3`,
          [tenantId, agent.id, label, who.actor],
        );
      await writeJournal(tx, who, {
        action: 'agent.label.gate_remove',
        target: agent.id,
        data: { label, gate: before.gate },
      });
    });
  }

  /** A gate's named evaluator, checked to exist (404) with the version it pins (null: any). */
  private async namedOf(tenantId: string, evaluator: GateInput['evaluator']) {
    if (typeof evaluator !== 'object') return undefined;
    const { name, version } = parseRef(evaluator.ref);
    const e = await this.evaluators.get(tenantId, name);
    if (version !== undefined && version > e.version)
      throw notFound('evaluator version', `${evaluator.ref} (it has 1 to ${e.version})`);
    return { id: e.id, name: e.name, version: version ?? null };
  }

  private async row(
    q: Queryable,
    tenantId: string,
    agentId: string,
    label: string,
    lock = false,
  ): Promise<LabelRow | undefined> {
    const [row] = await q.query<LabelRow>(
      `select ${columns} from agent_labels where tenant_id = $1 and agent_id = $2 and label = $3${lock ? ' for update' : ''}`,
      [tenantId, agentId, label],
    );
    return row;
  }
}

const noLabel = (agent: string, label: string) =>
  new AppError('not_found', `agent ${agent} has no label ${label}`);

const deleteLabel = (q: Queryable, tenantId: string, agentId: string, label: string) =>
  q.query('delete from agent_labels where tenant_id = $1 and agent_id = $2 and label = $3', [
    tenantId,
    agentId,
    label,
  ]);
