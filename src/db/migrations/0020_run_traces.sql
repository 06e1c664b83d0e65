-- Run traces: what a step cost and the order in which a tenant's runs are listed.
--
-- A step's place in the run's tree needs no column: a tool call's parent is the model call that
-- asked for it, which is the last model step before it (the loop records a model answer, then the
-- calls it asked for). The run's OpenTelemetry trace id is kept in `options` with its other
-- settings, so the start statements stay as they are.
alter table run_steps add column cost double precision;
-- Later kinds (knowledge retrieval, handoffs, approval waits) need no migration of their own.
alter table run_steps drop constraint run_steps_kind_check;
-- GET /v1/runs: a tenant's runs, newest first (ids are UUIDv7: id order is creation order).
create index runs_tenant_id on runs (tenant_id, id desc);
-- The retention sweep: ended runs by age.
create index runs_completed on runs (completed_at) where completed_at is not null;

-- The W3C trace context of the request that enqueued a task: the worker that runs it (in any
-- process) continues that trace, so one trace runs from the API call to the task's model calls.
alter table tasks add column traceparent text;
