-- Local-dev agents: the bundles deployed for an agent with env `pool`, one row per version.
-- Only bundles that built and loaded in a sandbox are stored, so the newest version is the one
-- that serves; older ones stay for the record (and a later rollback).

create table agent_deployments (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  agent_id uuid not null references agents (id) on delete cascade,
  -- 1, 2, 3… per agent, in the order they became current.
  version int not null,
  -- One ESM file (esbuild output): the agent's src/agent.ts and what it imports.
  bundle text not null,
  sha256 text not null,
  size_bytes int not null,
  created_by text,
  created_at timestamptz not null default now(),
  unique (agent_id, version)
);
