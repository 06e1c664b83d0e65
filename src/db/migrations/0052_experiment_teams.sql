-- An experiment may run a team (a multi-agent spec) instead of one agent: each item is a run of
-- the team, owned by its entry agent (agent_id). No foreign key, as for the agent: results outlive
-- the team.
alter table experiments add column team_id uuid, add column team_name text;
