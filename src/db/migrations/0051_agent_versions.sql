-- Agent versions: every change to an agent's configuration stores an immutable copy of the whole
-- config (the agent row but its identity, owner and timestamps), who made it and an optional
-- message. `version` is the agent's own `version` column after the change, so a run that records
-- the version it ran points at exactly one of these rows. Written by the same statement as the change
-- (agents/agents.ts); deleting an agent deletes its versions, while its runs keep the number.
--
-- Keyed by agent (ids are unique across tenants), not tenant first: the one index serves the
-- reads (which also match tenant_id) and the cascade from `agents`, and each change pays for one
-- index entry and one foreign key check (a tenant's deletion reaches versions through its agents).
create table agent_versions (
  agent_id uuid not null references agents (id) on delete cascade,
  version int not null,
  tenant_id uuid not null,
  config jsonb not null,
  -- The journal's actor: `key:<id>`, `user:<sub>`, `internal`, `system`.
  author text not null,
  message text,
  created_at timestamptz not null default now(),
  primary key (agent_id, version)
);

-- Agents made before versions were kept have only their present config: it becomes the version of
-- their present number (1 for an agent never changed), so numbers stay those the agents show.
insert into agent_versions (tenant_id, agent_id, version, config, author, message, created_at)
select a.tenant_id, a.id, a.version,
       to_jsonb(a) - '{id,tenant_id,version,owner,created_at,updated_at}'::text[],
       'system', 'the configuration when versions began to be kept', a.updated_at
from agents a;

-- What ran: the agent version of a run (and, for a team's run, each member's), the version a task
-- runs (pinned when it was created, else the latest when its first try began), and where a fork
-- came from. Nullable: rows from before this migration have none.
alter table runs
  add column agent_version int,
  add column member_versions jsonb,
  add column parent_run_id uuid,
  add column forked_from_step int;
create index runs_parent on runs (parent_run_id) where parent_run_id is not null;
alter table tasks add column agent_version int;

-- A team's members pinned to a version (`writer@3`): agent id -> version; absent members run their latest.
alter table multi_agent_specs add column member_versions jsonb not null default '{}';
