-- MCP tool servers registered by tenants. Their tools appear as `<name>__<tool>`.

create table mcp_servers (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- Letters, digits and '-': no '_', so `<name>__<tool>` splits one way only.
  name text not null,
  description text not null default '',
  -- http (Streamable HTTP: url, headers, secret) | stdio (command, args; run inside a bwrap sandbox)
  transport text not null,
  url text,
  -- Header values and the secret are sent to the server and never shown by the API.
  headers jsonb not null default '{}',
  secret text,
  command text,
  args jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
