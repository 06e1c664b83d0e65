-- The W3C `tracestate` that came with the enqueuing request's `traceparent`: the worker that runs
-- the task passes it on, unchanged, to the model providers, MCP servers, remote agents and
-- callback receivers it calls, as the request itself would have.
alter table tasks add column tracestate text;
