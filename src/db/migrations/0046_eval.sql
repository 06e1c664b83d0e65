-- Evaluation: datasets of test cases, experiments that run an agent over one with evaluators, and
-- scores on runs (from people, evaluators or API clients). SQL lives in src/eval/.

create table datasets (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index datasets_tenant_name on datasets (tenant_id, name);
create index datasets_tenant_id on datasets (tenant_id, id desc);

create table dataset_items (
  id uuid primary key,
  dataset_id uuid not null references datasets (id) on delete cascade,
  tenant_id uuid not null,
  -- {"message": "..."} (a chat turn) or {"task_type": "...", "payload": {...}} (a task).
  input jsonb not null,
  -- What a good answer is, as the evaluators read it (usually a string); null: none given.
  expected jsonb,
  metadata jsonb not null default '{}',
  tags text[] not null default '{}',
  -- The recorded run this item was made from ("add to dataset").
  source_run_id uuid,
  created_at timestamptz not null default now()
);
create index dataset_items_dataset on dataset_items (dataset_id, id);

create table experiments (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null default '',
  -- No foreign keys to the dataset or the agent: results are history and outlive both.
  dataset_id uuid not null,
  agent_id uuid not null,
  agent_name text not null,
  -- The version asked for (null: the latest at each item's run).
  agent_version int,
  evaluators jsonb not null,
  concurrency int not null,
  -- {"max_cost_usd"?, "max_tokens"?, "judge_max_cost_usd"?}
  budget jsonb not null default '{}',
  status text not null
    check (status in ('running', 'completed', 'cancelled', 'budget_exhausted', 'failed')),
  stop_reason text,
  total int not null,
  -- Items finished (completed or in error), bumped by the statement that records each: progress events count with it.
  finished int not null default 0,
  -- What its LLM judges have cost so far (for `budget.judge_max_cost_usd`).
  judge_cost float8 not null default 0,
  created_by text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  updated_at timestamptz not null default now()
);
create index experiments_tenant_id on experiments (tenant_id, id desc);

create table experiment_items (
  id uuid primary key,
  experiment_id uuid not null references experiments (id) on delete cascade,
  tenant_id uuid not null,
  dataset_item_id uuid not null,
  seq int not null,
  -- A copy of the dataset item as it was when the experiment started.
  input jsonb not null,
  expected jsonb,
  status text not null check (status in ('pending', 'running', 'completed', 'error')),
  -- The lane (one queue task) working on it; a lane taken over by another worker finds its item again.
  lane int,
  run_id uuid,
  output text,
  error_code text,
  error_message text,
  -- [{"name", "evaluator", "score", "pass", "reason"?, "error"?}]
  scores jsonb not null default '[]',
  latency_ms float8,
  tokens int,
  cost float8,
  started_at timestamptz,
  completed_at timestamptz
);
create unique index experiment_items_seq on experiment_items (experiment_id, seq);
create index experiment_items_open on experiment_items (experiment_id, seq)
  where status in ('pending', 'running');

create table scores (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  run_id uuid not null references runs (id) on delete cascade,
  name text not null,
  value float8 not null,
  comment text,
  source text not null check (source in ('human', 'evaluator', 'api')),
  -- Set when an experiment's evaluator gave it.
  experiment_id uuid,
  created_by text,
  created_at timestamptz not null default now()
);
create index scores_run on scores (run_id, id);
create index scores_tenant_name on scores (tenant_id, name, value);

-- Evaluators that score a sample of an agent's live runs.
create table agent_evaluators (
  agent_id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  evaluators jsonb not null,
  sample_rate float8 not null,
  updated_at timestamptz not null default now()
);
