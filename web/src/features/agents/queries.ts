import { keepPreviousData } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api';
import { defineQuery, resourceKey, useApiQuery } from '../../lib/query';
import { allAgents, currentPolicy, modelList } from '../../lib/resources';
import type { Agent, Ok } from '../../lib/types';

export const PAGE = 25;

type Source = 'basic' | 'template' | 'generated' | 'local';
type ListQuery = { name?: string; source?: Source; offset: number };

declare module '../../lib/query' {
  interface QueryShapes {
    'agents/page': Ok<'/v1/agents'>;
    'agents/detail': Agent;
    'agents/deployments': Ok<'/v1/agents/{id}/deployments'>['data'];
    'templates/all': Ok<'/v1/templates'>['data'];
    'tools/all': Ok<'/v1/tools'>;
    'knowledge-bases/all': Ok<'/v1/knowledge-bases'>['data'];
    'agents/versions': Ok<'/v1/agents/{id}/versions'>;
    'agents/version-diff': Ok<'/v1/agents/{id}/versions/diff'>;
    'agents/labels': Ok<'/v1/agents/{id}/labels'>['data'];
  }
}

export const agentKeys = {
  all: resourceKey('agents'),
  detail: (id: string) => agentDetail(id).queryKey,
  deployments: (id: string) => agentDeployments(id).queryKey,
};

const agentPage = defineQuery('agents/page', async (q: ListQuery) =>
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
);
const agentDetail = defineQuery('agents/detail', async (id: string) =>
  unwrap(await api.GET('/v1/agents/{id}', { params: { path: { id } } })),
);
const agentDeployments = defineQuery(
  'agents/deployments',
  async (id: string) =>
    unwrap(await api.GET('/v1/agents/{id}/deployments', { params: { path: { id } } })).data,
);
/** One page of an agent's versions, newest first; the key starts with the agent's resource. */
export const agentVersions = defineQuery('agents/versions', async (id: string, offset: number) =>
  unwrap(
    await api.GET('/v1/agents/{id}/versions', {
      params: { path: { id }, query: { limit: PAGE, offset } },
    }),
  ),
);
/** Two versions field by field. */
export const agentVersionDiff = defineQuery(
  'agents/version-diff',
  async (id: string, from: number, to: number) =>
    unwrap(await api.GET('/v1/agents/{id}/versions/diff', { params: { path: { id }, query: { from, to } } })),
);
/** An agent's labels (`production`, `staging`, …): the version each points at, and its gate. */
export const agentLabels = defineQuery(
  'agents/labels',
  async (id: string) => unwrap(await api.GET('/v1/agents/{id}/labels', { params: { path: { id } } })).data,
);
const templates = defineQuery('templates/all', async () => unwrap(await api.GET('/v1/templates')).data);
const tools = defineQuery('tools/all', async () => unwrap(await api.GET('/v1/tools')));
const knowledgeBases = defineQuery(
  'knowledge-bases/all',
  async () => unwrap(await api.GET('/v1/knowledge-bases', { params: { query: { limit: 500 } } })).data,
);

export const useAgentList = (q: ListQuery) =>
  useApiQuery({ ...agentPage(q), placeholderData: keepPreviousData });
/** Every agent's name (the handoff picker). */
export const useAllAgents = () => useApiQuery({ ...allAgents(), staleTime: 30_000 });
export const useAgent = (id: string | undefined) =>
  useApiQuery({ ...agentDetail(id ?? ''), enabled: Boolean(id) });
export const useTemplates = () => useApiQuery({ ...templates(), staleTime: 60_000 });
/** The ids of the models this tenant may use, selected from the shared list (cached whole, once). */
export const useModels = () =>
  useApiQuery({ ...modelList(), staleTime: 60_000, select: (list) => list.map((m) => m.id) });
export const useTools = () => useApiQuery({ ...tools(), staleTime: 30_000 });
export const useKnowledgeBases = () => useApiQuery({ ...knowledgeBases(), staleTime: 30_000 });
export const usePolicy = () => useApiQuery({ ...currentPolicy(), staleTime: 60_000 });
export const useDeployments = (id: string, enabled: boolean) =>
  useApiQuery({ ...agentDeployments(id), enabled });
