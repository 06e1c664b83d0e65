import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api';

export const PAGE = 25;

export const agentKeys = {
  all: ['agents'] as const,
  list: (q: { name?: string; source?: string; offset: number }) => ['agents', 'list', q] as const,
  detail: (id: string) => ['agents', 'detail', id] as const,
  deployments: (id: string) => ['agents', 'deployments', id] as const,
};

type Source = 'basic' | 'template' | 'generated' | 'local';

export function useAgentList(q: { name?: string; source?: Source; offset: number }) {
  return useQuery({
    queryKey: agentKeys.list(q),
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/agents', {
          params: {
            query: {
              limit: PAGE,
              offset: q.offset,
              ...(q.name && { name: q.name }),
              ...(q.source && { source: q.source }),
            },
          },
        }),
      ),
  });
}

/** Every agent's name (the handoff picker); 200 is the API's page bound. */
export function useAllAgents() {
  return useQuery({
    queryKey: ['agents', 'names'],
    queryFn: async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 200 } } })).data,
  });
}

export function useAgent(id: string | undefined) {
  return useQuery({
    queryKey: agentKeys.detail(id ?? ''),
    enabled: Boolean(id),
    queryFn: async () => unwrap(await api.GET('/v1/agents/{id}', { params: { path: { id: id! } } })),
  });
}

export function useTemplates() {
  return useQuery({
    queryKey: ['templates'],
    staleTime: 60_000,
    queryFn: async () => unwrap(await api.GET('/v1/templates')).data,
  });
}

export function useModels() {
  return useQuery({
    queryKey: ['models'],
    staleTime: 60_000,
    queryFn: async () => unwrap(await api.GET('/v1/models')).data.map((m) => m.id),
  });
}

export function useTools() {
  return useQuery({
    queryKey: ['tools'],
    staleTime: 30_000,
    queryFn: async () => unwrap(await api.GET('/v1/tools')),
  });
}

export function useKnowledgeBases() {
  return useQuery({
    queryKey: ['knowledge-bases', 'names'],
    staleTime: 30_000,
    queryFn: async () =>
      unwrap(await api.GET('/v1/knowledge-bases', { params: { query: { limit: 200 } } })).data,
  });
}

export function usePolicy() {
  return useQuery({
    queryKey: ['policy'],
    staleTime: 60_000,
    queryFn: async () => unwrap(await api.GET('/v1/policy')),
  });
}

export function useDeployments(id: string, enabled: boolean) {
  return useQuery({
    queryKey: agentKeys.deployments(id),
    enabled,
    queryFn: async () =>
      unwrap(await api.GET('/v1/agents/{id}/deployments', { params: { path: { id } } })).data,
  });
}
