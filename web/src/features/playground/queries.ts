import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api';

export const playKeys = {
  agents: ['agents', 'names'] as const,
  sessions: (agentId: string) => ['sessions', agentId] as const,
  messages: (sessionId: string) => ['sessions', 'messages', sessionId] as const,
  runs: (sessionId: string) => ['runs', 'session', sessionId] as const,
};

export function useAgents() {
  return useQuery({
    queryKey: playKeys.agents,
    queryFn: async () => unwrap(await api.GET('/v1/agents', { params: { query: { limit: 200 } } })).data,
  });
}

/** One page of the agent's sessions (newest first); the key's prefix is the agent's, so one invalidation refreshes every page. */
export function useSessions(agentId: string, offset: number) {
  return useQuery({
    queryKey: [...playKeys.sessions(agentId), offset],
    enabled: Boolean(agentId),
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/sessions', {
          params: { query: { agent_id: agentId, limit: SESSION_PAGE, offset } },
        }),
      ),
  });
}

/** Sessions per page of the sidebar. */
export const SESSION_PAGE = 20;

export function useMessages(sessionId: string | undefined, enabled: boolean) {
  return useQuery({
    queryKey: playKeys.messages(sessionId ?? ''),
    enabled: Boolean(sessionId) && enabled,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/sessions/{id}/messages', {
          params: { path: { id: sessionId! }, query: { limit: 1000 } },
        }),
      ).data,
  });
}

/** The session's runs: their tokens and cost make the counter; one waiting for approval is shown. */
export function useSessionRuns(sessionId: string | undefined) {
  return useQuery({
    queryKey: playKeys.runs(sessionId ?? ''),
    enabled: Boolean(sessionId),
    queryFn: async () =>
      unwrap(await api.GET('/v1/runs', { params: { query: { session_id: sessionId!, limit: 200 } } })).data,
  });
}

/** One run with the tool calls it waits on (a paused run of a reopened session). */
export function useRun(id: string | undefined) {
  return useQuery({
    queryKey: ['runs', 'detail', id ?? ''],
    enabled: Boolean(id),
    queryFn: async () => unwrap(await api.GET('/v1/runs/{id}', { params: { path: { id: id! } } })),
  });
}
