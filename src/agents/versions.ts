import type { Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../db/page.ts';
import { AppError } from '../errors.ts';
import type { Actor, JournalEntry } from '../events/journal.ts';
import type { Agent } from './schema.ts';
import { type AgentConfig, type AgentVersion, configFields } from './version-schema.ts';

/**
 * The SQL of agent versions (migration 0051). A version is written by the same statement that
 * changes the agent (agents.ts `versionedWrite`), so no change goes unrecorded and storing one costs
 * no round trip; these are the reads.
 */

/** The config a version keeps, from an `agents` row named `alias`: all of it but identity, owner and times. */
export const configOf = (alias: string) =>
  `to_jsonb(${alias}) - '{id,tenant_id,version,owner,created_at,updated_at}'::text[]`;

/**
 * Wraps a statement that writes one agent row (an insert or update ending in `returning *`) so that
 * the same statement stores the new version and the journal's row (with the version in its data):
 * one round trip, one implicit transaction. `first` is the number of the first of the seven
 * parameters `versionedParams` gives.
 */
export const versionedWrite = (write: string, first: number) => {
  const p = (i: number) => `$${first + i}`;
  return `with w as (${write}), v as (
     insert into agent_versions (tenant_id, agent_id, version, config, author, message)
     select w.tenant_id, w.id, w.version, ${configOf('w')}, ${p(0)}, ${p(1)} from w
   ), j as (
     insert into journal (id, tenant_id, actor, action, target, request_id, trace_id, data)
     select ${p(2)}::uuid, w.tenant_id, ${p(0)}, ${p(3)}, w.id::text, ${p(4)}, ${p(5)},
            ${p(6)}::jsonb || jsonb_build_object('version', w.version)
     from w
   )
   select * from w`;
};

/** The parameters of `versionedWrite`, after the write's own. */
export const versionedParams = (
  who: Actor,
  note: string | undefined,
  entry: Required<Omit<JournalEntry, 'target'>>,
) => [
  who.actor,
  note ?? null,
  newId(),
  entry.action,
  who.requestId ?? null,
  who.traceId ?? null,
  JSON.stringify(entry.data),
];

interface VersionRow {
  agent_id: string;
  version: number;
  config: AgentConfig;
  author: string;
  message: string | null;
  created_at: Date;
}

const toVersion = (r: VersionRow): AgentVersion => ({ ...r, created_at: r.created_at.toISOString() });

/** An agent's versions, newest first. */
export function listVersions(
  db: Queryable,
  tenantId: string,
  agentId: string,
  q: PageQuery,
): Promise<Page<AgentVersion>> {
  return listPage(
    db,
    q,
    {
      select: 'agent_id, version, config, author, message, created_at',
      from: 'from agent_versions where tenant_id = $1 and agent_id = $2',
      orderBy: 'version desc',
      params: [tenantId, agentId],
    },
    toVersion,
  );
}

/** One version; a number the agent never had is a 404 naming the versions it has. */
export async function getVersion(
  db: Queryable,
  tenantId: string,
  agentId: string,
  version: number,
): Promise<AgentVersion> {
  const [row] = await db.query<VersionRow>(
    `select agent_id, version, config, author, message, created_at from agent_versions
     where tenant_id = $1 and agent_id = $2 and version = $3`,
    [tenantId, agentId, version],
  );
  if (row) return toVersion(row);
  throw await unknownVersion(db, tenantId, agentId, version);
}

/** The 404 for a version an agent does not have, saying which it has. */
export async function unknownVersion(
  db: Queryable,
  tenantId: string,
  agentId: string,
  version: number,
): Promise<AppError> {
  const [range] = await db.query<{ min: number | null; max: number | null }>(
    'select min(version) as min, max(version) as max from agent_versions where tenant_id = $1 and agent_id = $2',
    [tenantId, agentId],
  );
  const has = range?.max ? `; it has versions ${range.min} to ${range.max}` : '';
  return new AppError('not_found', `agent ${agentId} has no version ${version}${has}`, {
    details: { agent_id: agentId, version, ...(range?.max && { first: range.min, latest: range.max }) },
  });
}

/**
 * The agent as it was at a version: the stored config over the present row's identity. Its id,
 * tenant, name, owner and visibility stay the present ones: who may see the agent, and the name its
 * spending is billed under, are the agent's now, not what they were.
 */
export function agentAtVersion(present: Agent, v: Pick<AgentVersion, 'version' | 'config'>): Agent {
  const config: Record<string, unknown> = {};
  for (const field of configFields) {
    if (field !== 'name' && field !== 'visibility' && field in v.config) config[field] = v.config[field];
  }
  return { ...present, ...config, version: v.version };
}

/**
 * The version a label points at now (migration 0072): the read `name@production` makes. A label the
 * agent has not set, or has only a gate for, is a 404 naming the labels that point somewhere.
 */
export async function labelledVersion(
  db: Queryable,
  tenantId: string,
  agentId: string,
  label: string,
  /** How the message names the agent: the reference the caller gave. */
  shown = agentId,
): Promise<number> {
  const rows = await db.query<{ label: string; version: number | null }>(
    'select label, version from agent_labels where tenant_id = $1 and agent_id = $2 order by label',
    [tenantId, agentId],
  );
  const found = rows.find((r) => r.label === label)?.version;
  if (found != null) return found;
  const set = rows.filter((r) => r.version !== null).map((r) => r.label);
  const has = set.length > 0 ? `; its labels are ${set.join(', ')}` : '; it has no labels';
  return Promise.reject(
    new AppError('not_found', `agent ${shown} has no version labelled ${label}${has}`, {
      details: { agent_id: agentId, label, labels: set },
    }),
  );
}
