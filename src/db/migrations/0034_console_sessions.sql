-- Console sessions: what the one-time code of a sign-in link (`agentry serve` prints one) is traded
-- for. Unlike an API key a session expires on its own, is listed apart (Settings › Console sessions)
-- and ends at sign-out; the sign-in link no longer adds an admin key per use.
create table console_sessions (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- The visible handle of the token (`ags_<12 hex>`); the secret part is stored as its sha256.
  prefix text not null unique,
  hash text not null,
  scopes text[] not null,
  -- The browser that signed in, as it named itself: to tell sessions apart when revoking one.
  user_agent text not null default '',
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index console_sessions_tenant on console_sessions (tenant_id, created_at desc);
