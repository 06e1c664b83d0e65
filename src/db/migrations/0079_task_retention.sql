-- Retention per task type: a type declared `retention: delete` (high-volume work) has its tasks'
-- rows deleted when they succeed, as graphile-worker and pg-boss do, instead of kept as `completed`.
-- The flag is copied onto the task at enqueue, so the claim can hand it to the worker and the
-- completion can split its batch without reading the agent. Failed and cancelled tasks are kept.
alter table tasks add column delete_on_success boolean not null default false;

-- A deleted task's callback is sent from the task as it stood when it succeeded, kept here.
alter table callback_outbox add column task jsonb;

-- 0056's claim, also returning the flag (a changed result type needs a drop).
drop function task_claim_rows(text, int, int, float8);
create function task_claim_rows(p_owner text, p_limit int, p_cap int, p_lease_seconds float8)
returns table (
  id uuid, tenant_id uuid, agent_id uuid, task_type text, title text, description text,
  payload jsonb, attempt int, max_attempts int, session_id uuid, parent_task_id uuid,
  priority int, run_at timestamptz, traceparent text, tracestate text, waited_seconds float8,
  delete_on_success boolean, exhausted boolean
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
            t.delete_on_success, (select count(*) from candidates) < p_limit;
end $$;

-- The delete-mode twin of `task_complete_rows` (0040), pinned the same way to one primary-key probe
-- per attempt, with the same lease match. A task with a callback also returns itself as it would
-- read completed (the outbox sends that, the row being gone); without one, nothing is built.
create function task_delete_rows(
  p_owner text, p_tenants uuid[], p_ids uuid[], p_attempts int[], p_results jsonb[],
  p_summaries text[], p_ms int[], p_journal_ids uuid[]
) returns table (id uuid, tenant_id uuid, attempts int, callback_url text, ms int, journal_id uuid, task jsonb)
language plpgsql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
#variable_conflict use_column
begin return query
  delete from tasks t
  using unnest(p_tenants, p_ids, p_attempts, p_results, p_summaries, p_ms, p_journal_ids)
    as r(tenant_id, id, attempt, result, summary, ms, journal_id)
  where t.tenant_id = r.tenant_id and t.id = r.id and t.lease_owner = p_owner and t.attempts = r.attempt
  returning t.id, t.tenant_id, t.attempts, t.callback_url, r.ms, r.journal_id,
            case when t.callback_url is not null then
              to_jsonb(t) || jsonb_build_object(
                'status', 'completed', 'result', r.result, 'result_summary', r.summary,
                'error_message', null, 'completed_at', now(), 'updated_at', now(),
                'lease_owner', null, 'lease_expires_at', null)
            end;
end $$;
