-- A2A push notification configs: where to tell a client about its task (an A2A task is a run).
-- Deleted with the run (the retention sweep deletes ended runs).
create table a2a_push_configs (
  tenant_id uuid not null references tenants (id) on delete cascade,
  run_id uuid not null references runs (id) on delete cascade,
  -- The client's id for the config; one per task when it gives none.
  id text not null,
  url text not null,
  -- Sent back as X-A2A-Notification-Token, for the client to check the notification is ours.
  token text not null default '',
  -- { scheme, credentials }: sent as `Authorization: <scheme> <credentials>`.
  authentication jsonb,
  created_at timestamptz not null default now(),
  primary key (tenant_id, run_id, id)
);
create index a2a_push_configs_run on a2a_push_configs (run_id);
