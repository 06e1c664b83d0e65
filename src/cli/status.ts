import { Command } from 'commander';
import type { QueueStatus } from '../tasks/schema.ts';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { formatRecord, formatTable, print } from './output.ts';

const age = (s: number | null) =>
  s === null
    ? '-'
    : s < 120
      ? `${Math.round(s)}s`
      : s < 7200
        ? `${Math.round(s / 60)}m`
        : `${Math.round(s / 3600)}h`;

export function statusCommand(): Command {
  return withClientOptions(new Command('status'))
    .description("The tenant's task queue: counts by status and agent, oldest pending age, running leases")
    .action(
      action(async (opts: ClientOptions) => {
        const status = await ApiClient.from(opts).get<QueueStatus>('/v1/tasks/status');
        print(opts.json, status, () => {
          const c = status.counts;
          return (
            formatRecord([
              ['pending', c.pending],
              ['in progress', c.in_progress],
              ['completed', c.completed],
              ['failed', c.failed],
              ['cancelled', c.cancelled],
              ['oldest pending', age(status.oldest_pending_age_seconds)],
              ['running leases', status.running_leases],
              ['expired leases', status.expired_leases],
            ]) +
            '\n' +
            formatTable(status.by_agent, [
              { header: 'agent', value: (r) => r.agent_id },
              { header: 'status', value: (r) => r.status },
              { header: 'count', value: (r) => r.count },
            ])
          );
        });
      }),
    );
}
