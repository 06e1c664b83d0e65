-- Labels on agent versions (`production`, `staging`, any slug): one version per label per agent,
-- moved by PUT /v1/agents/{id}/labels/{label} with a journal row for each move, and resolved by
-- `name@production` wherever `name@3` is taken. A label may carry a release gate: moving it needs
-- a finished experiment of the version on the gate's dataset scoring at or above its threshold.
-- SQL lives in src/eval/labels/ (writes) and src/agents/versions.ts (the read a pin makes).
--
-- Keyed by agent, as agent_versions is: deleting an agent deletes its labels. `version` is null
-- for a label that has a gate but no version yet (or was taken off while its gate stays).
create table agent_labels (
  agent_id uuid not null references agents (id) on delete cascade,
  label text not null,
  tenant_id uuid not null,
  version int,
  -- {"dataset_id", "dataset", "evaluator"?, "threshold", "floors"?}; null: no gate.
  gate jsonb,
  updated_by text not null,
  updated_at timestamptz not null default now(),
  primary key (agent_id, label)
);
