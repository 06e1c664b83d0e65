-- A client may name the A2A context of a new task itself (A2A 1.0 §3.4.1: accepted and kept):
-- such a context is a string of the client's, not a session id (interop/a2a/handler.ts).
alter table a2a_task_runs alter column context_id type text using context_id::text;
