-- An agent's own budget (tokens and cost per day and month, the shape of tenants.yaml's
-- `budgets.agents.<name>`), set through the API by a tenant admin. Null: tenants.yaml alone
-- decides. The model gateway enforces the stricter of the two limits where both are set.
alter table agents add column budget jsonb;
