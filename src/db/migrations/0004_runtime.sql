-- The agent runtime: chat sessions and their messages, runs (one per chat turn or task execution)
-- and their steps (every model call and tool call). Run events go to the shared `events` log with
-- the run id as stream id.

create table sessions (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- No foreign key to agents: a conversation is history and outlives the agent it was held with.
  agent_id uuid not null,
  title text not null default '',
  -- Messages written so far: the next message's seq. Bumped by the statement that appends them,
  -- which also locks the row, so appends of one session are serialised.
  message_count int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index sessions_tenant_updated on sessions (tenant_id, updated_at desc, id desc);

create table messages (
  session_id uuid not null references sessions (id) on delete cascade,
  seq int not null,
  tenant_id uuid not null,
  run_id uuid,
  role text not null check (role in ('system', 'user', 'assistant', 'tool')),
  content text,
  tool_calls jsonb,
  tool_call_id text,
  tokens int not null default 0,
  created_at timestamptz not null default now(),
  primary key (session_id, seq)
);

create table runs (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  session_id uuid not null references sessions (id) on delete cascade,
  agent_id uuid not null,
  -- Set when the run executes a task (the queue's default handler).
  task_id uuid,
  status text not null
    check (status in ('queued', 'running', 'input_required', 'completed', 'failed', 'cancelled')),
  -- The user message; appended to the session when the run starts (a queued run waits its turn).
  input text not null,
  context jsonb not null default '{}',
  -- Run settings as requested: streaming, max_steps, on_disconnect.
  options jsonb not null default '{}',
  output text,
  error_code text,
  error_message text,
  model_calls int not null default 0,
  -- Steps recorded so far: the next step's idx (bumped by the statement that records them).
  step_count int not null default 0,
  usage jsonb not null default '{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}',
  -- While `input_required`: the tool calls waiting for approval.
  pending jsonb,
  lease_owner text,
  lease_expires_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now()
);
-- At most one run of a session is active (running or waiting for approval); `queued` ones wait.
create unique index runs_session_active on runs (session_id) where status in ('running', 'input_required');
create index runs_session_created on runs (session_id, created_at, id);
create index runs_queued on runs (session_id, created_at) where status = 'queued';
-- Running rows, for the lease heartbeat and the orphan sweep.
create index runs_running on runs (lease_expires_at) where status = 'running';

create table run_steps (
  run_id uuid not null references runs (id) on delete cascade,
  idx int not null,
  tenant_id uuid not null,
  kind text not null check (kind in ('model', 'tool')),
  -- The model that answered, or the tool's name.
  name text not null,
  tool_call_id text,
  input jsonb,
  output jsonb,
  error text,
  usage jsonb,
  started_at timestamptz not null,
  duration_ms double precision not null,
  primary key (run_id, idx)
);
