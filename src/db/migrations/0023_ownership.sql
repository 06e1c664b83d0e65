-- Agent names are unique per tenant whatever their case (`LUMINA` and `lumina` are one agent, as
-- names are looked up case-insensitively). Older rows that clash keep the first; later ones get
-- their id's first eight characters appended.
update agents a set name = left(a.name, 55) || '-' || left(a.id::text, 8)
where exists (
  select 1 from agents b
  where b.tenant_id = a.tenant_id and lower(b.name) = lower(a.name) and (b.created_at, b.id) < (a.created_at, a.id)
);
create unique index agents_tenant_lower_name on agents (tenant_id, lower(name));

-- Per-user ownership inside a tenant: who made an agent, session, knowledge base or key (a user
-- `user:<sub>`, `dev:<name>`, or a key `key:<id>` that acts for no user). A `private` object is
-- seen only by its owner and the tenant's admins; no owner (older rows) means the tenant's.
alter table agents add column owner text;
alter table sessions add column owner text;
alter table sessions add column visibility text not null default 'tenant';
alter table knowledge_bases add column owner text;
alter table knowledge_bases add column visibility text not null default 'tenant';
alter table api_keys add column owner text;
-- `private` was the default but never enforced: the rows it marked were visible to the whole tenant.
alter table agents alter column visibility set default 'tenant';
update agents set visibility = 'tenant' where visibility = 'private' and owner is null;
