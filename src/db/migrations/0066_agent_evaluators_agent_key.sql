-- Evaluators attached to an agent belong to that agent in its own tenant. The table had no link to
-- `agents`: a caller could attach evaluators to another tenant's agent id (a row under its own
-- tenant that then blocked the owner's own attachment) or to an id of no agent at all.
--
-- Rows that point at no agent, or at an agent of another tenant, are dropped: such evaluators never
-- scored anything (runs are scored by the agent's own tenant), and the owner can now attach theirs.
delete from agent_evaluators e
where not exists (select 1 from agents a where a.id = e.agent_id and a.tenant_id = e.tenant_id);

-- The key the foreign key below needs (ids are unique already; this pairs them with their tenant).
alter table agents add constraint agents_tenant_id_id unique (tenant_id, id);

-- An attachment is for an agent of the same tenant, and goes with the agent when it is deleted.
alter table agent_evaluators
  add constraint agent_evaluators_agent foreign key (tenant_id, agent_id)
  references agents (tenant_id, id) on delete cascade;
