import type { QueryClient } from '@tanstack/react-query';
import { api, apiKey, unwrap } from '../api';

/** A run's trace as the clinic reads it (GET /v1/runs/{id}/trace), under one query key. */
export const traceQuery = (id: string) => ({
  queryKey: ['trace', id],
  queryFn: async () => unwrap(await api.GET('/v1/runs/{id}/trace', { params: { path: { id } } })),
});

const runPath = /^\/runs\/([0-9a-f-]{36})\/?$/;

/**
 * Asks for the trace of the run the URL opens while sign-in is still checked, when the tab already
 * holds a key: the clinic's query then finds it in flight instead of starting it after sign-in.
 * A refused key fails this query as it fails sign-in; the page asks again once signed in.
 */
export function prefetchTrace(client: QueryClient, pathname: string): void {
  const id = runPath.exec(pathname)?.[1];
  if (id && apiKey.get()) void client.prefetchQuery(traceQuery(id));
}
