-- Batch ingests run in the background (`POST /v1/knowledge-bases/{id}/documents?async=true`): one
-- row per ingest holds its progress, moved after every written group of documents, and its
-- per-item results once it has finished, for `GET /v1/knowledge-bases/{id}/ingests/{ingestId}`.
create table kb_ingests (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  knowledge_base_id uuid not null references knowledge_bases (id) on delete cascade,
  -- running | succeeded | failed (failed: the ingest itself stopped; items fail one by one in results)
  status text not null default 'running',
  total int not null,
  done int not null default 0,
  failed int not null default 0,
  results jsonb,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);

create index kb_ingests_kb on kb_ingests (knowledge_base_id, created_at);
