-- Client-chosen session keys: clients of earlier systems (PAGI's `session_id: "demo"`) name their
-- conversations themselves. A key belongs to one agent's sessions in one tenant.
alter table sessions add column client_key text;
create unique index sessions_client_key on sessions (tenant_id, agent_id, client_key) where client_key is not null;
