import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api';

/** Everything the overview shows refreshes on its own, every 10 s. */
const every = 10_000;

export const overviewKeys = {
  health: ['health'] as const,
  activity: ['activity', 60] as const,
  usageToday: ['usage', 'today'] as const,
  policy: ['policy'] as const,
};

export function useHealth() {
  return useQuery({
    queryKey: overviewKeys.health,
    refetchInterval: every,
    queryFn: async () => {
      const r = await api.GET('/health');
      // A red system answers 503 with the same report: that is data to show, not an error.
      if (r.response.status === 503 && r.error) return r.error;
      return unwrap(r);
    },
  });
}

export function useActivity() {
  return useQuery({
    queryKey: overviewKeys.activity,
    refetchInterval: every,
    queryFn: async () => unwrap(await api.GET('/v1/activity', { params: { query: { minutes: 60 } } })),
  });
}

/** Today's usage (UTC), summed over agents and models. */
export function useUsageToday() {
  return useQuery({
    queryKey: overviewKeys.usageToday,
    refetchInterval: every,
    queryFn: async () => {
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
    },
  });
}

export function usePolicy() {
  return useQuery({
    queryKey: overviewKeys.policy,
    staleTime: 60_000,
    queryFn: async () => unwrap(await api.GET('/v1/policy')),
  });
}
