import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { nameTaken, notFound, refuseWhileUsed, type User } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import type { EvaluatorChange, EvaluatorVersion, NamedEvaluator, NewEvaluator } from './named-schema.ts';
import { type EvaluatorEntry, type EvaluatorSpec, isRef, type PinnedRef, parseRef } from './registry.ts';

interface Row {
  id: string;
  name: string;
  description: string;
  version: number;
  spec: EvaluatorSpec;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

interface VersionRow {
  evaluator_id: string;
  name: string;
  version: number;
  description: string;
  spec: EvaluatorSpec;
  message: string | null;
  created_by: string | null;
  created_at: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toEvaluator = (r: Row): NamedEvaluator => ({
  id: r.id,
  name: r.name,
  description: r.description,
  version: r.version,
  spec: r.spec,
  created_by: r.created_by,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
  deleted_at: iso(r.deleted_at),
});

const toVersion = (r: VersionRow): EvaluatorVersion => ({
  evaluator_id: r.evaluator_id,
  name: r.name,
  version: r.version,
  description: r.description,
  spec: r.spec,
  message: r.message,
  created_by: r.created_by,
  created_at: iso(r.created_at)!,
});

/** The evaluator with its newest version's spec; `e` is `evaluators`, `v` its newest version. */
const withSpec = `select e.id, e.name, e.description, e.version, v.spec, e.created_by, e.created_at, e.updated_at, e.deleted_at
  from evaluators e join evaluator_versions v on v.evaluator_id = e.id and v.version = e.version`;

/** By id (deleted ones too: experiments name them) or by name (the live one). */
const byRef = (ref: string, n: number) =>
  UUID.test(ref) ? `e.id = $${n}::uuid` : `e.name = $${n} and e.deleted_at is null`;

/** What a spec stored in a named evaluator keeps: its score is named after the evaluator. */
const stored = (spec: EvaluatorSpec): EvaluatorSpec => {
  const { name: _name, ref: _ref, ...rest } = spec;
  return rest as EvaluatorSpec;
};

/** Resolves the references in an evaluator set to the specs they name (what experiments and live scoring run). */
export interface EvaluatorResolver {
  resolve(tenantId: string, entries: readonly EvaluatorEntry[], q?: Queryable): Promise<EvaluatorSpec[]>;
}

/**
 * Named evaluators (migration 0077): a tenant's reusable evaluators, each change a new immutable
 * version, each write journaled. A reference resolves to the spec of the version it pins, or of
 * the newest, with `ref` recording which (so an experiment says what it ran). Deleting one marks it
 * deleted (its name free again, its versions readable by id) and is refused while an agent's live
 * evaluators or a label's gate refer to it.
 */
export class EvaluatorService implements EvaluatorResolver {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: NewEvaluator, who: Actor): Promise<NamedEvaluator> {
    return this.db.transaction(async (tx) => {
      const id = newId();
      const [row] = await tx.query<{ id: string }>(
        `insert into evaluators (id, tenant_id, name, description, version, created_by)
         values ($1, $2, $3, $4, 1, $5)
         on conflict (tenant_id, name) where deleted_at is null do nothing
         returning id`,
        [id, tenantId, input.name, input.description ?? '', who.actor],
      );
      if (!row) throw nameTaken(`an evaluator named ${input.name} exists`);
      await this.addVersion(tx, tenantId, id, 1, input.description ?? '', input.spec, null, who);
      await writeJournal(tx, who, {
        action: 'evaluator.create',
        target: id,
        data: { name: input.name, type: input.spec.type, version: 1 },
      });
      return this.get(tenantId, id, tx);
    });
  }

  async get(tenantId: string, ref: string, q: Queryable = this.db): Promise<NamedEvaluator> {
    const [row] = await q.query<Row>(`${withSpec} where e.tenant_id = $1 and ${byRef(ref, 2)}`, [
      tenantId,
      ref,
    ]);
    if (!row) throw notFound('evaluator', ref);
    return toEvaluator(row);
  }

  list(tenantId: string, q: PageQuery & { type?: string }) {
    return listPage(
      this.db,
      q,
      {
        select:
          'e.id, e.name, e.description, e.version, v.spec, e.created_by, e.created_at, e.updated_at, e.deleted_at',
        from: `from evaluators e join evaluator_versions v on v.evaluator_id = e.id and v.version = e.version
               where e.tenant_id = $1 and e.deleted_at is null and ($2::text is null or v.spec->>'type' = $2)`,
        orderBy: 'e.name, e.id',
        params: [tenantId, q.type ?? null],
      },
      toEvaluator,
    );
  }

  /** The next version: `change` over the newest (PATCH), or the whole of it (PUT gives spec). */
  async update(tenantId: string, ref: string, change: EvaluatorChange, who: Actor): Promise<NamedEvaluator> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx.query<Row>(
        `${withSpec} where e.tenant_id = $1 and ${byRef(ref, 2)} and e.deleted_at is null for update of e`,
        [tenantId, ref],
      );
      if (!current) throw notFound('evaluator', ref);
      const version = current.version + 1;
      const description = change.description ?? current.description;
      const spec = change.spec ?? current.spec;
      await this.addVersion(
        tx,
        tenantId,
        current.id,
        version,
        description,
        spec,
        change.message ?? null,
        who,
      );
      await tx.query(
        'update evaluators set version = $2, description = $3, updated_at = now() where id = $1',
        [current.id, version, description],
      );
      await writeJournal(tx, who, {
        action: 'evaluator.update',
        target: current.id,
        data: { name: current.name, type: spec.type, from: current.version, to: version },
      });
      return this.get(tenantId, current.id, tx);
    });
  }

  versions(tenantId: string, ref: string, q: PageQuery) {
    return this.get(tenantId, ref).then((e) =>
      listPage(
        this.db,
        q,
        {
          select:
            'v.evaluator_id, e.name, v.version, v.description, v.spec, v.message, v.created_by, v.created_at',
          from: `from evaluator_versions v join evaluators e on e.id = v.evaluator_id
                 where v.tenant_id = $1 and v.evaluator_id = $2`,
          orderBy: 'v.version desc',
          params: [tenantId, e.id],
        },
        toVersion,
      ),
    );
  }

  async version(tenantId: string, ref: string, version: number): Promise<EvaluatorVersion> {
    const e = await this.get(tenantId, ref);
    const [row] = await this.db.query<VersionRow>(
      `select v.evaluator_id, e.name, v.version, v.description, v.spec, v.message, v.created_by, v.created_at
         from evaluator_versions v join evaluators e on e.id = v.evaluator_id
        where v.tenant_id = $1 and v.evaluator_id = $2 and v.version = $3`,
      [tenantId, e.id, version],
    );
    if (!row) throw notFound('evaluator version', `${e.name}@${version} (it has 1 to ${e.version})`);
    return toVersion(row);
  }

  /** Marks it deleted; refused (409, naming them) while live evaluators or gates refer to it. */
  async remove(tenantId: string, ref: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(
        `select e.* from evaluators e where e.tenant_id = $1 and ${byRef(ref, 2)} and e.deleted_at is null for update`,
        [tenantId, ref],
      );
      if (!row) throw notFound('evaluator', ref);
      refuseWhileUsed(`evaluator ${row.name}`, await usersOf(tx, tenantId, row.id, row.name));
      await tx.query('update evaluators set deleted_at = now(), updated_at = now() where id = $1', [row.id]);
      await writeJournal(tx, who, { action: 'evaluator.delete', target: row.id, data: { name: row.name } });
    });
  }

  /**
   * Each reference as the spec of the version it pins (or the newest), named as the entry says (or
   * after the evaluator), with `ref` saying which; inline specs as they are. 404 for a name the
   * tenant has no live evaluator of, or a version it never had.
   */
  async resolve(
    tenantId: string,
    entries: readonly EvaluatorEntry[],
    q: Queryable = this.db,
  ): Promise<EvaluatorSpec[]> {
    const refs = entries.filter(isRef);
    if (refs.length === 0) return entries as EvaluatorSpec[];
    const wanted = refs.map((r) => parseRef(r.ref));
    const rows = await q.query<{
      id: string;
      name: string;
      latest: number;
      version: number;
      spec: EvaluatorSpec;
    }>(
      `select e.id, e.name, e.version as latest, v.version, v.spec
         from evaluators e join evaluator_versions v on v.evaluator_id = e.id
        where e.tenant_id = $1 and e.deleted_at is null and e.name = any($2::text[])
          and (v.version = e.version or v.version = any($3::int[]))`,
      [
        tenantId,
        [...new Set(wanted.map((w) => w.name))],
        wanted.flatMap((w) => (w.version ? [w.version] : [])),
      ],
    );
    return entries.map((entry) => {
      if (!isRef(entry)) return entry;
      const { name, version } = parseRef(entry.ref);
      const ofName = rows.filter((r) => r.name === name);
      if (ofName.length === 0) throw notFound('evaluator', name);
      const row = ofName.find((r) => r.version === (version ?? r.latest));
      if (!row) throw notFound('evaluator version', `${entry.ref} (it has 1 to ${ofName[0]!.latest})`);
      const ref: PinnedRef = { id: row.id, name: row.name, version: row.version };
      return { ...stored(row.spec), name: entry.name ?? row.name, ref };
    });
  }

  private async addVersion(
    tx: Queryable,
    tenantId: string,
    id: string,
    version: number,
    description: string,
    spec: EvaluatorSpec,
    message: string | null,
    who: Actor,
  ): Promise<void> {
    await tx.query(
      `insert into evaluator_versions (evaluator_id, version, tenant_id, description, spec, message, created_by)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
      [id, version, tenantId, description, JSON.stringify(stored(spec)), message, who.actor],
    );
  }
}

/** Agents and ingested apps whose live evaluators, and labels whose gates, refer to the evaluator. */
async function usersOf(q: Queryable, tenantId: string, id: string, name: string): Promise<User[]> {
  const rows = await q.query<{ kind: 'agent' | 'service'; id: string; name: string; how: string }>(
    `select 'agent' as kind, a.id::text as id, a.name, 'scores its live runs' as how
       from agent_evaluators ae join agents a on a.id = ae.agent_id
      where ae.tenant_id = $1
        and exists (select 1 from jsonb_array_elements(ae.evaluators) x where split_part(x->>'ref', '@', 1) = $3)
     union all
     select 'service', se.service_name, se.service_name, 'scores its ingested runs'
       from service_evaluators se
      where se.tenant_id = $1
        and exists (select 1 from jsonb_array_elements(se.evaluators) x where split_part(x->>'ref', '@', 1) = $3)
     union all
     select 'agent', a.id::text, a.name, 'gate of label ' || l.label
       from agent_labels l join agents a on a.id = l.agent_id
      where l.tenant_id = $1 and l.gate->'evaluator_ref'->>'id' = $2
     order by name`,
    [tenantId, id, name],
  );
  return rows.map((r) => ({ kind: r.kind, id: r.id, name: r.name, how: r.how }));
}
