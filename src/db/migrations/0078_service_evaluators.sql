-- Evaluators attached to an app whose traces are ingested (POST /v1/traces): they score a sample of
-- the runs of its `service.name` as attached evaluators score an agent's live runs. An app is no
-- agent (its runs carry a stand-in agent id, no agents row), so it has its own table, by name.
create table service_evaluators (
  tenant_id uuid not null references tenants (id) on delete cascade,
  service_name text not null,
  evaluators jsonb not null,
  sample_rate float8 not null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, service_name)
);
