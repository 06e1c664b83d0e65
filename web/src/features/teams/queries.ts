import { keepPreviousData } from '@tanstack/react-query';
import { PAGE_SIZE } from '../../components/Pager';
import { api, type paths, unwrap } from '../../lib/api';
import { defineQuery, resourceKey, useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import type { Team } from '../../lib/types';

declare module '../../lib/query' {
  interface QueryShapes {
    'teams/page': paths['/v1/multi-agents']['get']['responses'][200]['content']['application/json'];
    'teams/detail': Team;
  }
}

export const teamKeys = { all: resourceKey('teams') };

const teamPage = defineQuery('teams/page', async (offset: number) =>
  unwrap(await api.GET('/v1/multi-agents', { params: { query: { limit: PAGE_SIZE, offset } } })),
);
const teamDetail = defineQuery('teams/detail', async (id: string) =>
  unwrap(await api.GET('/v1/multi-agents/{id}', { params: { path: { id } } })),
);

export const useTeams = (offset: number) =>
  useApiQuery({ ...teamPage(offset), placeholderData: keepPreviousData });
/** The team named in the address when it is not on the page of tabs shown (opened by URL). */
export const useTeam = (id: string | null, onPage: boolean) =>
  useApiQuery({ ...teamDetail(id ?? ''), enabled: Boolean(id) && !onPage });
export const useAgents = () => useApiQuery(allAgents());
