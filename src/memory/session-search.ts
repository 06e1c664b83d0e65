import { z } from 'zod';
import { sessionVisibleSql, type Viewer, visibleParam } from '../auth/ownership.ts';
import type { Db } from '../db/db.ts';

/**
 * Search over a tenant's past conversations: full-text over the user and assistant messages of its
 * sessions (or of one agent's sessions), best matches first. The query is read as people type it,
 * and a message that has some of its words matches (as knowledge-base search does); `ts_rank` orders
 * by how many and how often. The expression and the role filter repeat migration 0006's index.
 */

export const sessionSearchBody = z
  .object({
    query: z.string().trim().min(1).max(1000),
    /** Only this agent's sessions. */
    /** An agent id, or its name. */
    agent_id: z.string().min(1).max(200).optional(),
    limit: z.number().int().min(1).max(100).default(20),
  })
  .strict();
export type SessionSearchInput = z.infer<typeof sessionSearchBody>;

const sessionSearchHit = z.object({
  session_id: z.uuid(),
  agent: z.object({ id: z.uuid(), name: z.string().nullable() }),
  seq: z.number().int(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  run_id: z.uuid().nullable(),
  created_at: z.string(),
  score: z.number(),
});
export type SessionSearchHit = z.infer<typeof sessionSearchHit>;

export const sessionSearchResult = z.object({ data: z.array(sessionSearchHit) });

export async function searchSessions(
  db: Db,
  tenantId: string,
  input: SessionSearchInput,
  viewer?: Viewer,
): Promise<{ data: SessionSearchHit[] }> {
  const rows = await db.query<{
    session_id: string;
    agent_id: string;
    agent_name: string | null;
    seq: number;
    role: 'user' | 'assistant';
    content: string;
    run_id: string | null;
    created_at: Date;
    score: number;
  }>(
    `with q as (select nullif(replace(websearch_to_tsquery('english', $1)::text, '&', '|'), '')::tsquery as q)
     select m.session_id, s.agent_id, a.name as agent_name, m.seq, m.role, m.content, m.run_id, m.created_at,
            ts_rank(to_tsvector('english', coalesce(m.content, '')), q.q)::float8 as score
       from q, messages m
       join sessions s on s.id = m.session_id
       left join agents a on a.id = s.agent_id and a.tenant_id = s.tenant_id
      where q.q is not null
        and to_tsvector('english', coalesce(m.content, '')) @@ q.q
        and m.role in ('user', 'assistant')
        and m.tenant_id = $2 and s.tenant_id = $2
        and ($3::uuid is null or s.agent_id = $3)
        and ${sessionVisibleSql(5, 's.')}
      order by score desc, m.created_at desc, m.session_id, m.seq
      limit $4`,
    [input.query, tenantId, input.agent_id ?? null, input.limit, visibleParam(viewer)],
  );
  return {
    data: rows.map((r) => ({
      session_id: r.session_id,
      agent: { id: r.agent_id, name: r.agent_name },
      seq: r.seq,
      role: r.role,
      content: r.content,
      run_id: r.run_id,
      created_at: r.created_at.toISOString(),
      score: Number(r.score),
    })),
  };
}
