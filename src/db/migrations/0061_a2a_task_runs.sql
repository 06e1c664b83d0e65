-- A2A tasks that are not simply one run with its session as context (interop/a2a/task-runs.ts):
-- a run that carries a further message of another run's task (task_id: that run), and a task
-- started in a context whose session was busy, run in a session of its own (task_id: itself).
-- context_id: the A2A context the run's task belongs to.
create table a2a_task_runs (
  run_id uuid primary key references runs (id) on delete cascade,
  tenant_id uuid not null references tenants (id) on delete cascade,
  task_id uuid not null references runs (id) on delete cascade,
  context_id uuid not null
);
create index a2a_task_runs_task on a2a_task_runs (task_id);
create index a2a_task_runs_context on a2a_task_runs (tenant_id, context_id);
