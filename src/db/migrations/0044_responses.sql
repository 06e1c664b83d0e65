-- Responses of POST /v1/responses (OpenAI's Responses API) kept with `store: true`: retrieved and
-- deleted by id, their input items listed, and continued with `previous_response_id`. `messages`
-- is the conversation as the model saw it, this response's answer included (instructions left out,
-- as OpenAI does: they do not carry over), so a follow-up is one read. `session_id` is the agent
-- session of a response an agent gave (`model: "agent/<name>"`): a follow-up continues that session.
create table responses (
  id text primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  body jsonb not null,
  input_items jsonb not null,
  messages jsonb not null,
  session_id uuid,
  created_at timestamptz not null default now()
);
create index responses_tenant on responses (tenant_id, created_at desc);
