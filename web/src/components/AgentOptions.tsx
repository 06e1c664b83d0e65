import { Link } from 'react-router';

/**
 * The agents of a picker, the tenant's own first; the operations team a fresh install makes
 * (AEGIS, CONNOR, …: agents from the `ops-*` built-in templates) in a group of their own whose
 * label says what they are, so they are not taken for the user's work.
 */

/** An agent made from one of the operations team's built-in templates. */
export const isOpsTeam = (a: { template_id?: string | null }) => Boolean(a.template_id?.startsWith('ops-'));

/** The operations team's agents of a list, by name (a list comes newest first). */
const opsTeamOf = <A extends { name: string; template_id?: string | null }>(agents: ReadonlyArray<A>) =>
  agents.filter(isOpsTeam).sort((a, b) => a.name.localeCompare(b.name));

export function AgentOptions({
  agents,
  label = (a) => a.name,
}: {
  agents: ReadonlyArray<{ id: string; name: string; template_id?: string | null; version?: number }>;
  label?: (a: { id: string; name: string; version?: number }) => string;
}) {
  const own = agents.filter((a) => !isOpsTeam(a));
  const ops = opsTeamOf(agents);
  const options = (list: typeof agents) =>
    list.map((a) => (
      <option key={a.id} value={a.id}>
        {label(a)}
      </option>
    ));
  return (
    <>
      {options(own)}
      {ops.length ? (
        <optgroup label="Pre-made operations team (made on install, read-only)">{options(ops)}</optgroup>
      ) : null}
    </>
  );
}

/** A line under a picker or list that shows the operations team: what those agents are, where to read more. */
export function OpsTeamNote({
  agents,
}: {
  agents: ReadonlyArray<{ name: string; template_id?: string | null }>;
}) {
  const ops = opsTeamOf(agents);
  if (!ops.length) return null;
  return (
    <p className="muted small ops-note">
      {ops.map((a) => a.name).join(', ')}: the pre-made operations team, made on a fresh install. They analyse
      this deployment with read-only tools and change nothing.{' '}
      <Link to="/agents/new?from=template">Their templates say what each does</Link>; docs/ops-team.md says
      how to turn them off (<code>ops_team.seed: false</code>).
    </p>
  );
}
