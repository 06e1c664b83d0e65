-- The queue's hot statements keep one plan whatever the statistics say.
--
-- A queue table's statistics are wrong most of the time: a table never analysed, or a burst of
-- enqueues since the last ANALYZE, makes the planner expect a handful of pending tasks. It then
-- reads the whole backlog through a bitmap scan and sorts it to lock one batch, so every claim
-- costs O(backlog) just when the backlog is deepest (11 of the 20 ms of a 250-task claim at 8,000
-- pending), and it updates the batch through a sequential scan of the table. The claim runs in
-- this function, whose settings leave the planner one plan: walk `tasks_runnable` in order up to
-- the limit, then one primary-key probe per task. (A SQL function with SET clauses is never
-- inlined, so the settings hold for its statement and nothing else.) The cost the planner adds to
-- a disabled kind of plan also lifts the estimate past `jit_above_cost`, and compiling the
-- statement's expressions would then take 300 ms: JIT is off in each pinned function.
--
-- The per-tenant cap: the running rows are counted per tenant (only when there is a cap); tenants
-- at their cap are skipped in the walk, so a tenant with a deep backlog cannot hide the others'
-- tasks, and the window trims a batch that would take a tenant past its cap. Claimers running at
-- the same instant each count as of their own snapshot, so concurrent claims can overshoot the cap
-- by one batch each: it is a fairness bound, not a hard limit. `exhausted` tells the caller the
-- walk found fewer runnable tasks than it asked for.
create function task_claim_rows(p_owner text, p_limit int, p_cap int, p_lease_seconds float8)
returns table (
  id uuid, tenant_id uuid, agent_id uuid, task_type text, title text, description text,
  payload jsonb, attempt int, max_attempts int, session_id uuid, parent_task_id uuid,
  priority int, run_at timestamptz, exhausted boolean
)
language sql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_sort = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
  with running as (
    select r.tenant_id, count(*)::int as n from tasks r
    where r.status = 'in_progress' and p_cap < 2147483647 group by r.tenant_id
  ), candidates as (
    select c.tenant_id, c.id, c.priority, c.run_at from tasks c
    where c.status = 'pending' and c.run_at <= now()
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
            t.max_attempts, t.session_id, t.parent_task_id, t.priority, t.run_at,
            (select count(*) from candidates) < p_limit
$$;

-- A lease is held exactly while a task is in progress: the claim sets both, and every other
-- transition clears the owner. Statements that match a worker's own lease (`lease_owner = $1`)
-- therefore test no `status = 'in_progress'`, which would let the planner read `tasks_running` (a
-- partial index full of dead entries between vacuums: 12,750 of them for 250 live rows in a drain)
-- instead of probing the primary key once per task.
alter table tasks add constraint tasks_lease_while_running
  check ((status = 'in_progress') = (lease_owner is not null));

-- The updates that match a batch of a worker's attempts by key (completion, heartbeat) are pinned
-- the same way, to one primary-key probe per attempt. Left to the statistics, they hash-join a
-- sequential scan of the whole table instead whenever the table looks small next to the batch (a
-- completion of 250 at 20,000 rows: 4.7 against 0.4 ms). Their callers write the events, journal
-- entries and outbox rows around them.
create function task_complete_rows(
  p_owner text, p_tenants uuid[], p_ids uuid[], p_attempts int[], p_results jsonb[],
  p_summaries text[], p_ms int[], p_journal_ids uuid[]
) returns table (id uuid, tenant_id uuid, attempts int, callback_url text, ms int, journal_id uuid)
language sql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
  update tasks t
  set status = 'completed', result = r.result, result_summary = r.summary, error_message = null,
      completed_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null
  from unnest(p_tenants, p_ids, p_attempts, p_results, p_summaries, p_ms, p_journal_ids)
    as r(tenant_id, id, attempt, result, summary, ms, journal_id)
  where t.tenant_id = r.tenant_id and t.id = r.id and t.lease_owner = p_owner and t.attempts = r.attempt
  returning t.id, t.tenant_id, t.attempts, t.callback_url, r.ms, r.journal_id
$$;

create function task_renew_leases(
  p_owner text, p_tenants uuid[], p_ids uuid[], p_attempts int[], p_lease_seconds float8
) returns setof uuid
language sql volatile
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
  update tasks t set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
  from unnest(p_tenants, p_ids, p_attempts) as r(tenant_id, id, attempt)
  where t.tenant_id = r.tenant_id and t.id = r.id and t.attempts = r.attempt and t.lease_owner = p_owner
  returning t.id
$$;
