import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api';
import { ErrorNote } from '../components/ErrorNote';

/** The system's health at a glance; the full overview (activity, spend) builds on this. */
export default function Overview() {
  const health = useQuery({
    queryKey: ['health'],
    refetchInterval: 10_000,
    queryFn: async () => unwrap(await api.GET('/health')),
  });
  return (
    <section>
      <h1>Overview</h1>
      <ErrorNote error={health.error} />
      {health.data ? (
        <p className="health" data-overall={health.data.overall}>
          System: <strong>{health.data.overall}</strong> ({health.data.status})
        </p>
      ) : null}
    </section>
  );
}
