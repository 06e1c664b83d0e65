import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api';
import { PAGE_SIZE } from '../../components/Pager';

export const teamKeys = {
  all: ['teams'] as const,
  list: ['teams', 'list'] as const,
  agents: ['agents', 'names'] as const,
};

export function useTeams(offset: number) {
  return useQuery({
    queryKey: [...teamKeys.list, offset],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(await api.GET('/v1/multi-agents', { params: { query: { limit: PAGE_SIZE, offset } } })),
  });
}

/** The team named in the address when it is not on the page of tabs shown (opened by URL). */
export function useTeam(id: string | null, onPage: boolean) {
  return useQuery({
    queryKey: [...teamKeys.all, 'detail', id],
    enabled: Boolean(id) && !onPage,
    queryFn: async () => unwrap(await api.GET('/v1/multi-agents/{id}', { params: { path: { id: id! } } })),
  });
}

export function useAgents() {
  return useQuery({
    queryKey: teamKeys.agents,
    queryFn: async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 200 } } })).data,
  });
}
