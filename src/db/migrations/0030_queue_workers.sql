-- One row per process that runs a queue worker, refreshed by its heartbeat and deleted when it stops:
-- /health tells tasks waiting their turn from tasks waiting for a worker that no longer exists (a
-- fleet whose worker processes all exited, an API-only deployment with none started).
create table queue_workers (
  id text primary key,
  hostname text not null,
  pid integer not null,
  role text not null,
  slots integer not null,
  started_at timestamptz not null default now(),
  last_seen timestamptz not null default now()
);
create index queue_workers_last_seen on queue_workers (last_seen);
