-- Datasets with a history: every change to a dataset's items (added, edited, deleted, imported)
-- makes a version, numbered 1, 2, 3… per dataset, so any version can be read back. SQL lives in
-- src/eval/datasets/.
--
-- dataset_items holds the items as they are now, each with the version it took its current form in
-- (`valid_from`); an edit or a delete first copies the row as it was into dataset_item_history with
-- the version that replaced or removed it (`valid_to`, exclusive). An item as of version N is its
-- current row when valid_from <= N, else its history row with valid_from <= N < valid_to: item ids
-- stay stable across versions, and the current items are read as before.
alter table datasets add column version int not null default 0;

create table dataset_versions (
  dataset_id uuid not null references datasets (id) on delete cascade,
  version int not null,
  tenant_id uuid not null,
  -- created | items_added | item_edited | item_deleted | imported | from_run
  change text not null,
  added int not null default 0,
  edited int not null default 0,
  deleted int not null default 0,
  -- Items in the dataset as of this version.
  item_count int not null,
  created_at timestamptz not null default now(),
  primary key (dataset_id, version)
);

alter table dataset_items add column valid_from int not null default 1;

create table dataset_item_history (
  id uuid not null,
  dataset_id uuid not null references datasets (id) on delete cascade,
  tenant_id uuid not null,
  input jsonb not null,
  expected jsonb,
  metadata jsonb not null,
  tags text[] not null,
  source_run_id uuid,
  created_at timestamptz not null,
  valid_from int not null,
  valid_to int not null,
  primary key (dataset_id, id, valid_from)
);
create index dataset_item_history_version on dataset_item_history (dataset_id, valid_to);

-- What existed before versions is version 1 of its dataset.
update datasets d set version = 1;
insert into dataset_versions (dataset_id, version, tenant_id, change, added, item_count, created_at)
select d.id, 1, d.tenant_id, 'created', c.n, c.n, d.created_at
  from datasets d
  cross join lateral (select count(*)::int as n from dataset_items i where i.dataset_id = d.id) c;

-- An experiment pins the dataset version it ran on (null: run before versions) and may run one split
-- (the items carrying that tag; null: every item).
alter table experiments add column dataset_version int;
alter table experiments add column split text;
