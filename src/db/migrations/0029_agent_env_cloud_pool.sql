-- `cloud_pool` is an agent environment of its own (the loop runs here while the run holds a sandbox
-- of the tools' warm pool). isA configs that asked for it kept the wish in `metadata.isa_env`; it
-- moves to `env`, and the key leaves the client's metadata, which then reads back as it was sent.
update agents set env = 'cloud_pool' where env = 'in_process' and metadata->>'isa_env' = 'cloud_pool';
update agents set metadata = metadata - 'isa_env' where metadata->'isa_env' is not null;
