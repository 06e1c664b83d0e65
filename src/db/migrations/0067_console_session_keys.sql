-- A console session opened with an API key (the console's sign-in form trades the key for a session
-- cookie, so the key never sits in the page): it acts as that key (its scopes and owner) and ends
-- when the key is revoked or deleted. Sessions from a sign-in link have none.
alter table console_sessions add column api_key_id uuid references api_keys (id) on delete cascade;
