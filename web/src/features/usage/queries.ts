import { api, type paths, unwrap } from '../../lib/api';
import { defineQuery } from '../../lib/query';

type SeriesQuery = paths['/v1/usage/series']['get']['parameters']['query'];
type Series = paths['/v1/usage/series']['get']['responses'][200]['content']['application/json'];
type Budgets = paths['/v1/usage/budgets']['get']['responses'][200]['content']['application/json']['data'];

declare module '../../lib/query' {
  interface QueryShapes {
    'usage/series': Series;
    'usage/budgets': Budgets;
  }
}

const bucketMs = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type View = {
  ms: number;
  bucket: keyof typeof bucketMs;
  by: NonNullable<SeriesQuery>['by'];
  allTenants: boolean;
};

/**
 * Usage per bucket over the last `ms`, in whole buckets: the range ends at the end of the current
 * bucket, worked out at each fetch (the key holds the view, not the instants).
 */
export const usageSeries = defineQuery('usage/series', async (v: View) => {
  const step = bucketMs[v.bucket];
  const until = Math.ceil(Date.now() / step) * step;
  const query = {
    since: new Date(until - v.ms).toISOString(),
    until: new Date(until).toISOString(),
    bucket: v.bucket,
    by: v.by,
    ...(v.allTenants ? { all_tenants: 'true' as const } : {}),
  };
  return unwrap(await api.GET('/v1/usage/series', { params: { query } }));
});

export const usageBudgets = defineQuery(
  'usage/budgets',
  async () => unwrap(await api.GET('/v1/usage/budgets')).data,
);
