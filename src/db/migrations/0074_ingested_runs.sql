-- Runs ingested from other apps' OpenTelemetry traces (POST /v1/traces, src/doors/otlp/).
--
-- An ingested run is one trace: `service_name` is the app that sent it (its resource's
-- `service.name`; null on Agentry's own runs) and `options.trace_id` its trace id, unique per tenant
-- among ingested runs so a trace delivered over several exports lands in one run. Its `agent_id` is
-- a stand-in derived from the tenant and the service (no agents row: the app is not an Agentry
-- agent), so the listing, scores and datasets treat it as any run.
alter table runs add column service_name text;
create unique index runs_ingested_trace on runs (tenant_id, (options->>'trace_id')) where service_name is not null;

-- The span a step was ingested from: a span exported twice (a retry, an overlapping batch) is one step.
alter table run_steps add column span_id text;
create unique index run_steps_span on run_steps (run_id, span_id) where span_id is not null;
