-- A run by its idempotency key (`options.idempotency_key`, written by the statement that starts the
-- run): an experiment's lane that died mid-item finds the run it started for the item and follows
-- it, rather than start (and pay for) a second one (eval/experiments/lane.ts).
create index runs_idempotency_key on runs (tenant_id, (options->>'idempotency_key'), created_at)
  where (options->>'idempotency_key') is not null;
