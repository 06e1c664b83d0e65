import { api, type paths, unwrap } from '../../lib/api';
import { defineQuery, useApiQuery } from '../../lib/query';
import { currentPolicy, healthReport } from '../../lib/resources';

/** Everything the overview shows refreshes on its own, every 10 s. */
const every = 10_000;

type Activity = paths['/v1/activity']['get']['responses'][200]['content']['application/json'];
type Spend = { requests: number; errors: number; tokens: number; cost: number };

declare module '../../lib/query' {
  interface QueryShapes {
    'activity/last': Activity;
    'usage/today': Spend;
  }
}

const activity = defineQuery('activity/last', async (minutes: number) =>
  unwrap(await api.GET('/v1/activity', { params: { query: { minutes } } })),
);

/** Today's usage (UTC), summed over agents and models. */
const usageToday = defineQuery('usage/today', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const { data } = unwrap(await api.GET('/v1/usage', { params: { query: { from: today, to: today } } }));
  return data.reduce(
    (t, r) => ({
      requests: t.requests + r.requests,
      errors: t.errors + r.errors,
      tokens: t.tokens + r.input_tokens + r.output_tokens,
      cost: t.cost + r.cost,
    }),
    { requests: 0, errors: 0, tokens: 0, cost: 0 },
  );
});

export const useHealth = () => useApiQuery({ ...healthReport(), refetchInterval: every });
export const useActivity = () => useApiQuery({ ...activity(60), refetchInterval: every });
export const useUsageToday = () => useApiQuery({ ...usageToday(), refetchInterval: every });
export const usePolicy = () => useApiQuery({ ...currentPolicy(), staleTime: 60_000 });
