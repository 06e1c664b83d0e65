import { Link } from 'react-router';

/**
 * The app an ingested run came from (its trace's `service.name`), linking to the app's runs: such a
 * run has a stand-in agent id and no agent to name.
 */
export function AppBadge({ service }: { service: string }) {
  return (
    <Link
      className="badge"
      to={`/runs?service=${encodeURIComponent(service)}`}
      title={`Runs of the app ${service}`}
    >
      app: {service}
    </Link>
  );
}
