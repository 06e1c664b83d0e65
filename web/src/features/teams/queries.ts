import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api';

export const teamKeys = {
  all: ['teams'] as const,
  list: ['teams', 'list'] as const,
  agents: ['agents', 'names'] as const,
};

export function useTeams() {
  return useQuery({
    queryKey: teamKeys.list,
    queryFn: async () => unwrap(await api.GET('/v1/multi-agents', { params: { query: { limit: 100 } } })),
  });
}

export function useAgents() {
  return useQuery({
    queryKey: teamKeys.agents,
    queryFn: async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 200 } } })).data,
  });
}
