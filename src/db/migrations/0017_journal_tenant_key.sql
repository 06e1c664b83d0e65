-- The journal is keyed by (tenant_id, id): one index serves its only reader (a tenant's entries,
-- newest first; ids are UUIDv7, so id order is creation order) in place of the id key plus
-- `journal_tenant_at`.
--
-- Every queue attempt writes a journal entry, so each index on the journal is one B-tree insert
-- per task: a seventh of those a drained task costs. Every writer sets the tenant (an `Actor`
-- always carries one), so the column is declared as it is used.
alter table journal alter column tenant_id set not null;
alter table journal drop constraint journal_pkey, add constraint journal_pkey primary key (tenant_id, id);
drop index journal_tenant_at;
