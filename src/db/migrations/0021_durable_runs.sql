-- Durable runs: a run whose process died is taken over by another from its last recorded step
-- (docs/durability.md).
--
-- `interrupted`: a tool call that is not idempotent was in flight when the run's process died; the
-- run waits for a person to resume it (the call runs again) or cancel it. Like `input_required`, it
-- keeps its session busy.
alter table runs drop constraint runs_status_check;
alter table runs add constraint runs_status_check
  check (status in ('queued', 'running', 'input_required', 'interrupted', 'completed', 'failed', 'cancelled'));
drop index runs_session_active;
create unique index runs_session_active on runs (session_id)
  where status in ('running', 'input_required', 'interrupted');

-- A tool result recorded while other calls of its round were still running: the text the model
-- would have seen, so a takeover reuses it exactly (the trace's `output` may be cut or redacted).
-- Null for results written with their round: those are in the session's messages.
alter table run_steps add column result text;
