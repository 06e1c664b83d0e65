-- Annotation queues: runs set aside for people to review, each reviewer claiming the next item for
-- a while (a lease; an expired claim is free again), scoring it against the queue's score configs,
-- skipping it, or copying it into a dataset with a corrected expected output. SQL lives in
-- src/eval/queues/.

create table annotation_queues (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  -- The ids of the score configs a reviewer submits, in order (a JSON array of uuids).
  score_configs jsonb not null,
  -- Where "add to dataset" puts an item unless the request names another.
  dataset_id uuid references datasets (id) on delete set null,
  -- How long a claim holds before the item goes back to the queue.
  lease_seconds int not null default 600 check (lease_seconds between 10 and 86400),
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index annotation_queues_name on annotation_queues (tenant_id, name);

create table annotation_queue_items (
  -- UUIDv7: claims take the oldest first.
  id uuid primary key,
  queue_id uuid not null references annotation_queues (id) on delete cascade,
  tenant_id uuid not null,
  run_id uuid not null references runs (id) on delete cascade,
  -- Filled from an experiment: its item's expected output (a copy).
  experiment_id uuid,
  expected jsonb,
  -- pending | claimed (until claim_expires_at, then pending again in effect) | done | skipped
  status text not null default 'pending' check (status in ('pending', 'claimed', 'done', 'skipped')),
  claimed_by text,
  claim_expires_at timestamptz,
  -- Who finished it (done or skipped), when, and the comment sent with the scores.
  reviewed_by text,
  reviewed_at timestamptz,
  comment text,
  -- The dataset item made from it, if it was added to a dataset.
  dataset_item_id uuid,
  created_at timestamptz not null default now()
);
-- A run is in a queue once: filling again adds only the runs not in it yet.
create unique index annotation_queue_items_run on annotation_queue_items (queue_id, run_id);
create index annotation_queue_items_open on annotation_queue_items (queue_id, id)
  where status in ('pending', 'claimed');
