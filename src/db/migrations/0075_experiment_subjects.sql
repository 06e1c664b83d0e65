-- Experiments take two more subjects beside an agent and a team: a model with a prompt (`prompt`:
-- {model, system?, template, params}), each item one gateway call; and the caller's own function
-- (`external`), whose outputs the caller reports item by item. Neither has an agent.
alter table experiments add column subject text not null default 'agent'
  check (subject in ('agent', 'team', 'prompt', 'external'));
update experiments set subject = 'team' where team_id is not null;
alter table experiments add column prompt jsonb;
alter table experiments alter column agent_id drop not null;
alter table experiments alter column agent_name drop not null;
-- The trace an item's output belongs to: the gateway call's (prompt), or the caller's own spans (external).
alter table experiment_items add column trace_id text;
