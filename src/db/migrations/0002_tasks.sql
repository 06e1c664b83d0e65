-- The durable task queue, its schedules and callback outbox, and the append-only event log that
-- Server-Sent Events replay from (tasks now, chat runs later).

create table tasks (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- No foreign key to agents: a task is history and outlives the agent it ran on.
  agent_id uuid not null,
  task_type text not null,
  status text not null default 'pending'
    check (status in ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
  priority int not null default 0,
  title text not null,
  description text not null default '',
  payload jsonb not null default '{}',
  result jsonb,
  result_summary text,
  error_message text,
  attempts int not null default 0,
  max_attempts int not null default 3,
  run_at timestamptz not null default now(),
  lease_owner text,
  lease_expires_at timestamptz,
  idempotency_key text,
  callback_url text,
  callback_attempts int not null default 0,
  -- Last delivery outcome: an HTTP status ("200"), or the error that stopped it.
  callback_status text,
  parent_task_id uuid,
  session_id uuid,
  created_by text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now()
);

-- The claim reads this partial index only: runnable rows, in claim order. It stays as small as the
-- backlog, whatever the size of the history.
create index tasks_runnable on tasks (priority desc, run_at, id) where status = 'pending';
-- Running rows, for the per-tenant cap (counted inside every claim) and the expired-lease sweep.
create index tasks_running on tasks (tenant_id, lease_expires_at) where status = 'in_progress';
create index tasks_tenant_created on tasks (tenant_id, created_at desc, id desc);
create unique index tasks_idempotency on tasks (tenant_id, idempotency_key) where idempotency_key is not null;

-- One append-only log for every live stream (a task, a chat run). `seq` is global and increasing;
-- a stream reads its own rows after the last seq it saw (Last-Event-ID).
create table events (
  seq bigint generated always as identity primary key,
  tenant_id uuid not null,
  stream_id uuid not null,
  type text not null,
  data jsonb not null default '{}',
  at timestamptz not null default now()
);
create index events_stream on events (stream_id, seq);

create table schedules (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  -- Exactly one of cron (with timezone) and interval_seconds is set.
  cron text,
  timezone text not null default 'UTC',
  interval_seconds int,
  agent_id uuid not null,
  task_type text not null,
  title text not null,
  description text not null default '',
  payload jsonb not null default '{}',
  priority int not null default 0,
  max_attempts int not null default 3,
  paused boolean not null default false,
  next_run_at timestamptz not null,
  last_run_at timestamptz,
  last_task_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
create index schedules_due on schedules (next_run_at) where not paused;
create index schedules_tenant_created on schedules (tenant_id, created_at desc, id desc);

-- Callbacks to send, written in the same statement that makes a task terminal, so a restart loses none.
create table callback_outbox (
  id uuid primary key,
  tenant_id uuid not null,
  task_id uuid not null,
  url text not null,
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_status text,
  delivered_at timestamptz,
  given_up_at timestamptz,
  created_at timestamptz not null default now()
);
create index callback_outbox_due on callback_outbox (next_attempt_at)
  where delivered_at is null and given_up_at is null;

-- The per-tenant HMAC secret that signs callbacks; created on first use, readable and rotatable by
-- the tenant's admins. Kept in clear because signing needs it.
create table callback_secrets (
  tenant_id uuid primary key references tenants (id) on delete cascade,
  secret text not null,
  created_at timestamptz not null default now()
);
