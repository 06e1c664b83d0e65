import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api';

/** The tenant's agents (first 500), for pickers and for naming agents by id. */
export function useAgents() {
  return useQuery({
    queryKey: ['agents', 'all'],
    staleTime: 30_000,
    queryFn: async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 500 } } })).data,
  });
}
