-- Score configs (what a score of a name may be: a number in a range, one of named categories, or
-- true/false), scores checked against them, end users' feedback as a source, and each edit or
-- deletion of a score kept in its history. SQL lives in src/eval/scores/.

create table score_configs (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  kind text not null check (kind in ('numeric', 'categorical', 'boolean')),
  description text not null default '',
  -- numeric: the inclusive range (either end may be open).
  min_value float8,
  max_value float8,
  -- categorical: [{"label": "good", "value": 1}, ...]
  categories jsonb,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Archived (deleted while scores name it): kept for those scores, its name free for a new config.
  archived_at timestamptz
);
create unique index score_configs_live_name on score_configs (tenant_id, name) where archived_at is null;
create index score_configs_tenant on score_configs (tenant_id, id);

alter table scores drop constraint scores_source_check;
alter table scores add constraint scores_source_check
  check (source in ('human', 'evaluator', 'api', 'end_user'));
alter table scores add column config_id uuid references score_configs (id);
-- A categorical score's category, or "true"/"false" for a boolean one; value holds its number.
alter table scores add column label text;
alter table scores add column updated_at timestamptz;
alter table scores add column updated_by text;
create index scores_config on scores (config_id) where config_id is not null;

-- A score as it was before each edit or its deletion, and who changed it when. The score row of a
-- deleted score is gone; its history stays (until its run is deleted).
create table score_history (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  score_id uuid not null,
  run_id uuid not null references runs (id) on delete cascade,
  action text not null check (action in ('update', 'delete')),
  name text not null,
  value float8 not null,
  label text,
  comment text,
  changed_by text not null,
  changed_at timestamptz not null default now()
);
create index score_history_score on score_history (score_id, id);
