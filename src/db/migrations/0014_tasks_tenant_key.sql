-- Tasks are keyed by (tenant_id, id): one index serves a tenant's look-ups by id and its listing,
-- newest first (ids are UUIDv7, so id order is creation order), in place of the id key plus
-- `tasks_tenant_created`.
--
-- Every claim and completion writes a new version of the task row, and as status is in the
-- partial indexes' predicates that update can never be HOT: each version inserts an entry into
-- every index whose predicate it meets. `tasks_tenant_created` took two of those per task (about
-- 200 of the 2,000 WAL bytes a drained task cost, and a tenth of PostgreSQL's CPU per task in
-- bench/queue.ts). Every statement of the queue already knows the tenant of the rows it touches.
alter table tasks drop constraint tasks_pkey, add constraint tasks_pkey primary key (tenant_id, id);
drop index tasks_tenant_created;
