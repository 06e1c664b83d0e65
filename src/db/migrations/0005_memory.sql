-- Memory: knowledge bases, their documents, and the chunks that search reads.

create table knowledge_bases (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  -- persona | domain | tools | playbooks | custom
  kind text not null,
  description text not null default '',
  metadata jsonb not null default '{}',
  -- Goes up with every change to its chunks, so in-process vector scans know when to reload.
  revision bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);

create table documents (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  knowledge_base_id uuid not null references knowledge_bases (id) on delete cascade,
  -- Where it came from (a relative path or a name); one document per source in a knowledge base.
  source text not null,
  title text not null default '',
  -- text | markdown | html | json | pdf
  format text not null,
  -- sha256 of the bytes, the format and the chunking/embedding settings: equal means nothing to do.
  content_hash text not null,
  bytes int not null,
  chunk_count int not null default 0,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (knowledge_base_id, source)
);
create index documents_tenant on documents (tenant_id, knowledge_base_id, id);

create table chunks (
  id uuid primary key,
  tenant_id uuid not null,
  knowledge_base_id uuid not null references knowledge_bases (id) on delete cascade,
  document_id uuid not null references documents (id) on delete cascade,
  position int not null,
  heading_path text[] not null default '{}',
  content text not null,
  -- Headings weigh more than body text; computed at insert (array_to_string is not immutable,
  -- so this cannot be a generated column).
  tsv tsvector not null,
  -- The portable vector column; left null where pgvector holds the vector instead.
  embedding real[],
  embedding_dims int,
  embedding_model text
);
create index chunks_document on chunks (document_id, position);
create index chunks_kb on chunks (knowledge_base_id, embedding_dims);
-- Full-text search: the GIN index finds the matching rows; the knowledge-base filter is applied to them.
create index chunks_tsv on chunks using gin (tsv);

-- pgvector where the store has it (PGlite ships it; Debian's PostgreSQL 15 does not): vectors then
-- live in `embedding_vec`, indexed per dimension with HNSW by the memory module on first use.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'vector') then
    create extension if not exists vector;
    alter table chunks add column embedding_vec vector;
  end if;
end
$$;
