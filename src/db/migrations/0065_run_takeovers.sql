-- Takeovers of a run in a row without a recorded step (docs/durability.md, "Poison pills"): a run
-- whose input or tool blocks or kills every process that carries it on would otherwise walk the
-- fleet, one server after another. Each takeover after a lapsed lease adds one (a released lease,
-- from a draining process, does not); any recorded step (a model answer, a tool result) sets it
-- back to 0. Past `runtime.max_takeovers` the run fails as `poisoned` instead of being taken over.
alter table runs add column takeovers int not null default 0;
