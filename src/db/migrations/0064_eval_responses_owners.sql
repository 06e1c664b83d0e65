-- Ownership inside a tenant for datasets, experiments and stored Responses, as agents, sessions and
-- knowledge bases have it (0023): `owner` is the user who made the row (null for older rows, which
-- stay the tenant's), and a `private` row is seen only by its owner and the tenant's admins. What a
-- private agent produced is as private as the agent: an experiment on a private agent and a stored
-- response an agent gave are also hidden while their agent is another user's private one.
alter table datasets add column owner text;
alter table datasets add column visibility text not null default 'tenant';
alter table experiments add column owner text;
alter table experiments add column visibility text not null default 'tenant';
alter table responses add column owner text;
alter table responses add column visibility text not null default 'tenant';
-- The agent of a response given by `model: "agent/<name>"`, so its visibility follows the agent's
-- even after the agent's session is gone. No foreign key: a stored response outlives its agent.
alter table responses add column agent_id uuid;
