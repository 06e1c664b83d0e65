-- Named evaluators: a tenant's reusable evaluator specs, each change a new immutable version,
-- picked by `{"ref": "name"}` or `{"ref": "name@3"}` wherever an inline spec is taken
-- (experiments pin the version at start, live scoring follows the newest unless pinned, gates may
-- require one). SQL lives in src/eval/evaluators/named.ts.
--
-- Deleting one marks it deleted (its versions stay: experiments that ran it name them) and frees
-- its name; it is refused while an agent's live evaluators or a label's gate refer to it.
create table evaluators (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  -- The newest version (what an unpinned ref reads).
  version int not null,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create unique index evaluators_live_name on evaluators (tenant_id, name) where deleted_at is null;
create index evaluators_tenant on evaluators (tenant_id, name, id);

create table evaluator_versions (
  evaluator_id uuid not null references evaluators (id) on delete cascade,
  version int not null,
  tenant_id uuid not null,
  description text not null default '',
  -- One inline evaluator spec ({"type": …, …params}), checked against the kind when written.
  spec jsonb not null,
  message text,
  created_by text,
  created_at timestamptz not null default now(),
  primary key (evaluator_id, version)
);

-- An experiment may name a baseline experiment (same dataset): a pairwise judge then compares each
-- item's output with the baseline's output for the same dataset item.
alter table experiments add column baseline_experiment_id uuid;
