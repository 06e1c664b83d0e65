-- Tenants, API keys, agent configs, templates, multi-agent specs and the audit journal.

create table tenants (
  id uuid primary key,
  name text not null unique,
  policy jsonb not null default '{}',
  created_at timestamptz not null default now()
);

create table api_keys (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null default '',
  -- The visible part of the key (e.g. agk_3f9a1c2b); unique so a key is found by it in one look-up.
  prefix text not null unique,
  -- sha256 of the whole key; the secret itself is never stored.
  hash text not null,
  scopes text[] not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_tenant on api_keys (tenant_id, id);

create table agents (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  model text not null,
  system_prompt text not null default '',
  tools jsonb not null default '[]',
  skills jsonb not null default '[]',
  mode text not null default 'REACTIVE',
  env text not null default 'in_process',
  knowledge jsonb not null default '[]',
  task_types jsonb not null default '[]',
  handoffs jsonb not null default '[]',
  visibility text not null default 'private',
  metadata jsonb not null default '{}',
  source text not null default 'basic',
  template_id text,
  runtime_url text,
  multi_agent_id uuid,
  version int not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
create index agents_tenant_created on agents (tenant_id, created_at desc, id desc);

create table templates (
  id text primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  model text,
  system_prompt text not null default '',
  tools jsonb not null default '[]',
  skills jsonb not null default '[]',
  mode text not null default 'REACTIVE',
  env text not null default 'in_process',
  task_types jsonb not null default '[]',
  metadata jsonb not null default '{}',
  version int not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index templates_tenant on templates (tenant_id, created_at);

create table multi_agent_specs (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  kind text not null,
  members jsonb not null,
  entry_agent_id uuid not null,
  edges jsonb not null default '[]',
  config jsonb not null default '{}',
  version int not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);

create table journal (
  id uuid primary key,
  tenant_id uuid,
  actor text not null,
  action text not null,
  target text,
  request_id text,
  trace_id text,
  data jsonb not null default '{}',
  at timestamptz not null default now()
);
create index journal_tenant_at on journal (tenant_id, at desc);
