-- Tasks for external workers: `external` names who runs one (SomaAgent01's delegation topic, or a
-- worker a client chose); null, Agentry's own workers do. Such a task stays `pending` until its
-- worker reports through a callback: no claim ever takes it. The runnable index leaves these rows
-- out, so the claim's ordered walk never steps over them, and the claim's predicate matches the
-- index's again (0040's function otherwise unchanged).
alter table tasks add column external text;

drop index tasks_runnable;
create index tasks_runnable on tasks (priority desc, run_at, id) where status = 'pending' and external is null;

create or replace function task_claim_rows(p_owner text, p_limit int, p_cap int, p_lease_seconds float8)
returns table (
  id uuid, tenant_id uuid, agent_id uuid, task_type text, title text, description text,
  payload jsonb, attempt int, max_attempts int, session_id uuid, parent_task_id uuid,
  priority int, run_at timestamptz, traceparent text, tracestate text, waited_seconds float8,
  exhausted boolean
)
language plpgsql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
#variable_conflict use_column
begin return query
  with running as (
    select r.tenant_id, count(*)::int as n from tasks r
    where r.status = 'in_progress' and p_cap < 2147483647 group by r.tenant_id
  ), candidates as (
    select c.tenant_id, c.id, c.priority, c.run_at from tasks c
    where c.status = 'pending' and c.external is null and c.run_at <= now()
      and c.tenant_id <> all (array(select r.tenant_id from running r where r.n >= p_cap))
    order by c.priority desc, c.run_at, c.id
    limit p_limit
    for update skip locked
  ), picked as (
    select ranked.tenant_id, ranked.id from (
      select c.tenant_id, c.id, coalesce(r.n, 0)
               + row_number() over (partition by c.tenant_id order by c.priority desc, c.run_at, c.id) as rank
      from candidates c left join running r on r.tenant_id = c.tenant_id
    ) ranked
    where ranked.rank <= p_cap
  )
  update tasks t
  set status = 'in_progress', attempts = t.attempts + 1, lease_owner = p_owner,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds),
      started_at = coalesce(t.started_at, now()), updated_at = now()
  from picked
  where t.tenant_id = picked.tenant_id and t.id = picked.id
  returning t.id, t.tenant_id, t.agent_id, t.task_type, t.title, t.description, t.payload, t.attempts,
            t.max_attempts, t.session_id, t.parent_task_id, t.priority, t.run_at, t.traceparent,
            t.tracestate, greatest(0, extract(epoch from clock_timestamp() - t.run_at))::float8,
            (select count(*) from candidates) < p_limit;
end $$;
