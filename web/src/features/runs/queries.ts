import type { QueryClient } from '@tanstack/react-query';
import { api, type paths, unwrap } from '../../lib/api';
import { defineInfiniteQuery, defineQuery } from '../../lib/query';
import type { Ok } from '../../lib/types';

type RunsQuery = NonNullable<paths['/v1/runs']['get']['parameters']['query']>;
export type RunStatus = NonNullable<RunsQuery['status']>;
export type RunFilters = Omit<RunsQuery, 'cursor' | 'limit'>;
type RunsPage = paths['/v1/runs']['get']['responses'][200]['content']['application/json'];
export type RunSummary = RunsPage['data'][number];
export type Trace = paths['/v1/runs/{id}/trace']['get']['responses'][200]['content']['application/json'];

declare module '../../lib/query' {
  interface QueryShapes {
    'runs/trace': Trace;
    'runs/list': RunsPage;
    'runs/scores': Ok<'/v1/runs/{id}/scores'>;
    'runs/compare': Ok<'/v1/runs/compare'>;
  }
}

/** A run's trace as the clinic reads it (GET /v1/runs/{id}/trace). */
export const runTrace = defineQuery('runs/trace', async (id: string) =>
  unwrap(await api.GET('/v1/runs/{id}/trace', { params: { path: { id } } })),
);

/** Runs newest first under the filters, in cursor pages of 50. */
export const runList = defineInfiniteQuery(
  'runs/list',
  async (cursor: string | undefined, filters: RunFilters) =>
    unwrap(await api.GET('/v1/runs', { params: { query: { ...filters, limit: 50, cursor } } })),
  { first: undefined, next: (last) => last.next_cursor ?? undefined },
);

/** A run's scores, oldest first. */
export const runScores = defineQuery('runs/scores', async (id: string) =>
  unwrap(await api.GET('/v1/runs/{id}/scores', { params: { path: { id } } })),
);

/** Two runs side by side, and b minus a. */
export const runCompare = defineQuery('runs/compare', async (a: string, b: string) =>
  unwrap(await api.GET('/v1/runs/compare', { params: { query: { a, b } } })),
);

const runPath = /^\/runs\/([0-9a-f-]{36})\/?$/;

/**
 * Asks for the trace of the run the URL opens while sign-in is still checked: the page's query
 * then finds it in flight instead of starting it after sign-in. Without a session this query fails
 * as sign-in does; the page asks again once signed in.
 */
export function prefetchTrace(client: QueryClient, pathname: string): void {
  const id = runPath.exec(pathname)?.[1];
  if (id) void client.prefetchQuery(runTrace(id));
}
