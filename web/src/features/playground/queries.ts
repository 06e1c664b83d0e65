import { keepPreviousData } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api';
import { defineQuery, useApiQuery } from '../../lib/query';
import { allAgents, runDetail, sessionMessages } from '../../lib/resources';
import type { Ok } from '../../lib/types';

/** Sessions per page of the sidebar. */
export const SESSION_PAGE = 20;

declare module '../../lib/query' {
  interface QueryShapes {
    'sessions/of-agent': Ok<'/v1/sessions'>;
    'runs/of-session': Ok<'/v1/runs'>['data'];
  }
}

/**
 * One page of an agent's chat sessions (newest first): the sessions of its tasks' and experiment
 * items' runs are not conversations to reopen here. Every page's key starts with the agent's.
 */
const sessions = defineQuery('sessions/of-agent', async (agentId: string, offset: number) =>
  unwrap(
    await api.GET('/v1/sessions', {
      params: { query: { agent_id: agentId, origin: 'chat', limit: SESSION_PAGE, offset } },
    }),
  ),
);
const sessionRuns = defineQuery(
  'runs/of-session',
  async (sessionId: string) =>
    unwrap(await api.GET('/v1/runs', { params: { query: { session_id: sessionId, limit: 200 } } })).data,
);

export const playKeys = {
  /** Every page of the agent's sessions. */
  sessions: (agentId: string) => ['sessions', 'of-agent', agentId] as const,
  runs: (sessionId: string) => sessionRuns(sessionId).queryKey,
};

/** The picker asks again each time the page opens: an agent made a moment ago elsewhere is listed. */
export const useAgents = () => useApiQuery({ ...allAgents(), refetchOnMount: 'always' });
export const useSessions = (agentId: string, offset: number) =>
  useApiQuery({ ...sessions(agentId, offset), enabled: Boolean(agentId), placeholderData: keepPreviousData });
export const useMessages = (sessionId: string | undefined, enabled: boolean) =>
  useApiQuery({ ...sessionMessages(sessionId ?? ''), enabled: Boolean(sessionId) && enabled });
/** The session's runs: their tokens and cost make the counter; one waiting for approval is shown. */
export const useSessionRuns = (sessionId: string | undefined) =>
  useApiQuery({ ...sessionRuns(sessionId ?? ''), enabled: Boolean(sessionId) });
/** One run with the tool calls it waits on (a paused run of a reopened session). */
export const useRun = (id: string | undefined) =>
  useApiQuery({ ...runDetail(id ?? ''), enabled: Boolean(id) });
