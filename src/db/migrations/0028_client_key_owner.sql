-- A client-chosen session key (PAGI's `demo`, `s1`; isA's `session_id`) names one session per user:
-- two users of a tenant who pick the same key get a session each, and neither reads the other's
-- history. Keyed sessions made before this have no owner and stay with callers acting for no user.
drop index sessions_client_key;
create unique index sessions_client_key on sessions (tenant_id, agent_id, (coalesce(owner, '')), client_key)
  where client_key is not null;
