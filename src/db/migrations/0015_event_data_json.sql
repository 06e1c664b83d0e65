-- The event log's and the journal's `data` become `json` (the text as written, checked to be JSON)
-- instead of `jsonb`.
--
-- Both tables are append-only and their data is only ever read back whole (SSE replay, the journal
-- reader), never searched inside, so jsonb's binary form bought nothing, and building it was a
-- tenth of PostgreSQL's work per task in the queue (callgrind over a claim/complete loop: 30 of 325
-- thousand instructions a task for three small objects; every number becomes a `numeric`). The
-- queue's hot statements now write these objects as text. Values written as jsonb elsewhere are
-- converted on insert (an assignment cast). Rewrites both tables once.
alter table events alter column data type json using data::json;
alter table journal alter column data type json using data::json;
