import type { Queryable } from '../../db/db.ts';
import type { ToolDefinition } from '../types.ts';

/**
 * Read-only tools for agents that watch Agentry itself (the operations team): the tenant's audit
 * journal, the server's own health report, and the tenant's recent tasks. Each reads only the
 * calling run's tenant and changes nothing, so COLLABORATIVE agents call them without a pause for
 * approval. The queue and the health registry are reached through the small interfaces below,
 * plugged in by app.ts, so this module does not depend on either.
 */
export interface OpsToolDeps {
  db: Queryable;
  /** The same report GET /health serves, computed in-process. */
  health(): Promise<{ status: string; components: Record<string, { status: string; error?: string }> }>;
  /** The tenant's tasks, newest first. */
  recentTasks(tenantId: string, limit: number): Promise<RecentTask[]>;
}

export interface RecentTask {
  id: string;
  agent_id: string;
  task_type: string;
  status: string;
  title: string;
  attempts: number;
  error_message: string | null;
  created_at: string;
  completed_at: string | null;
}

const limitParam = (max: number, fallback: number) => ({
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: max, default: fallback } },
  additionalProperties: false,
});

interface JournalRow {
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  data: Record<string, unknown>;
}

// The journal is written by src/events/journal.ts; this is its only reader, so the query lives here.
// It is served by the journal's key, (tenant_id, id): ids are UUIDv7, so id order is creation order.
const JOURNAL_SQL = `select at, actor, action, target, data from journal
                     where tenant_id = $1 order by id desc limit $2`;

export function readJournalTool(deps: OpsToolDeps): ToolDefinition<{ limit?: number }> {
  return {
    name: 'read_journal',
    idempotent: true,
    description:
      "The tenant's most recent audit-journal entries (who did what to which object, and when), newest first.",
    parameters: limitParam(200, 50),
    async handler({ limit = 50 }, ctx) {
      const rows = await deps.db.query<JournalRow>(JOURNAL_SQL, [ctx.tenantId, limit]);
      const counts: Record<string, number> = {};
      for (const r of rows) counts[r.action] = (counts[r.action] ?? 0) + 1;
      return {
        entries: rows.map((r) => ({
          at: r.at.toISOString(),
          actor: r.actor,
          action: r.action,
          target: r.target,
          data: r.data,
        })),
        actions: counts,
      };
    },
  };
}

export function systemHealthTool(deps: OpsToolDeps): ToolDefinition<Record<string, never>> {
  return {
    name: 'system_health',
    idempotent: true,
    description:
      "Agentry's own health report (the /health components: store, live bus, queue, model providers, sandbox).",
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    async handler() {
      const report = await deps.health();
      const unhealthy = Object.entries(report.components)
        .filter(([, c]) => c.status !== 'ok')
        .map(([name, c]) => ({ name, status: c.status, ...(c.error && { error: c.error }) }));
      return { status: report.status, unhealthy, components: report.components };
    },
  };
}

/** Words in a task's title or error that deserve a human's look when a safety reviewer reads tasks. */
const RISKY =
  /\b(delete|drop|truncate|rm\s+-rf|disable|bypass|override|credential|password|secret|token|exfiltrat\w*|wire transfer|payment)\b/i;

export function recentTasksTool(deps: OpsToolDeps): ToolDefinition<{ limit?: number }> {
  return {
    name: 'recent_tasks',
    idempotent: true,
    description:
      "The tenant's most recent tasks with status, attempts and errors, newest first; failed tasks and " +
      'titles or errors that mention destructive or secret-handling actions are flagged.',
    parameters: limitParam(200, 50),
    async handler({ limit = 50 }, ctx) {
      const tasks = await deps.recentTasks(ctx.tenantId, limit);
      const flagged = tasks.flatMap((t) => {
        const reasons: string[] = [];
        if (t.status === 'failed') reasons.push(`failed after ${t.attempts} attempt(s)`);
        const risky = RISKY.exec(`${t.title} ${t.error_message ?? ''}`);
        if (risky) reasons.push(`mentions "${risky[0]}"`);
        return reasons.length > 0 ? [{ id: t.id, task_type: t.task_type, reasons }] : [];
      });
      const byStatus: Record<string, number> = {};
      for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      return { tasks, by_status: byStatus, flagged };
    },
  };
}
