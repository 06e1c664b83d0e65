-- Imported keys (an earlier system's secret set in the environment, such as PAGI_API_KEY) carry no
-- prefix of their own in their value: they are found by their hash.
create index api_keys_hash on api_keys (hash);
