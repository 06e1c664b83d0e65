-- Model gateway: one row per model call (usage), and the shared counters behind budgets and rate limits.

create table usage (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  agent text,
  key_id uuid,
  -- What the caller asked for, and the `provider/model` that answered (after aliases and fallbacks).
  requested_model text not null,
  model text not null,
  input_tokens int not null,
  output_tokens int not null,
  cost double precision not null,
  latency_ms double precision not null,
  request_id text,
  -- ok | error:<code> | aborted
  outcome text not null,
  at timestamptz not null default now()
);
create index usage_tenant_at on usage (tenant_id, at);

-- Budget and rate-limit counters, one row per (scope, metric, period). Processes take amounts from
-- them with one conditional upsert (never past the limit) and give back what they did not use.
create table limit_counters (
  key text primary key,
  used double precision not null,
  expires_at timestamptz not null
);
create index limit_counters_expires on limit_counters (expires_at);
