import { Command } from 'commander';
import type { Page } from '../db/page.ts';
import type { Schedule } from '../tasks/schedule-rows.ts';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { type TaskTemplateFlags, taskTemplate } from './create-task.ts';
import { action } from './fail.ts';
import { type Column, formatRecord, formatTable, print, shortTime } from './output.ts';

const columns: Column<Schedule>[] = [
  { header: 'id', value: (s) => s.id },
  { header: 'name', value: (s) => s.name, max: 30 },
  {
    header: 'when',
    value: (s) => (s.cron ? `${s.cron} (${s.timezone})` : `every ${s.interval_seconds}s`),
    max: 40,
  },
  { header: 'paused', value: (s) => (s.paused ? 'yes' : 'no') },
  { header: 'next', value: (s) => shortTime(s.next_run_at) },
];

const formatSchedule = (s: Schedule) =>
  formatRecord([
    ['id', s.id],
    ['name', s.name],
    ['cron', s.cron],
    ['timezone', s.timezone],
    ['interval', s.interval_seconds === null ? null : `${s.interval_seconds}s`],
    ['agent', s.agent_id],
    ['type', s.task_type],
    ['title', s.title],
    ['payload', s.payload],
    ['paused', s.paused],
    ['next run', s.next_run_at],
    ['last run', s.last_run_at],
    ['last task', s.last_task_id],
  ]);

interface CreateFlags extends TaskTemplateFlags {
  name: string;
  cron?: string;
  timezone?: string;
  every?: string;
}

export function schedulesCommand(): Command {
  const schedules = new Command('schedules').description('Create and manage schedules that create tasks');

  schedules.addCommand(
    withClientOptions(new Command('list'))
      .description('List schedules')
      .action(
        action(async (opts: ClientOptions) => {
          const page = await ApiClient.from(opts).get<Page<Schedule>>('/v1/schedules', {
            query: { limit: 500 },
          });
          print(opts.json, page, () => formatTable(page.data, columns));
        }),
      ),
  );

  schedules.addCommand(
    withClientOptions(new Command('create'))
      .description('Create a schedule: --cron (with --timezone) or --every seconds')
      .requiredOption('--name <name>', 'unique name')
      .option('--cron <expr>', 'cron expression, e.g. "0 9 * * 1-5"')
      .option('--timezone <tz>', 'IANA time zone of the cron expression (default UTC)')
      .option('--every <seconds>', 'fixed interval in seconds')
      .requiredOption('--agent <agent>', 'agent id or name')
      .requiredOption('--type <type>', 'task type')
      .requiredOption('--title <title>', 'title of each task')
      .option('--payload <json>', 'JSON payload of each task')
      .action(
        action(async (opts: CreateFlags) => {
          const { client, template } = await taskTemplate(opts);
          const schedule = await client.request<Schedule>('POST', '/v1/schedules', {
            body: {
              name: opts.name,
              cron: opts.cron,
              timezone: opts.timezone,
              interval_seconds: opts.every === undefined ? undefined : Number(opts.every),
              ...template,
            },
          });
          print(opts.json, schedule, () => formatSchedule(schedule));
        }),
      ),
  );

  schedules.addCommand(
    withClientOptions(new Command('get'))
      .description('Show one schedule')
      .argument('<id>', 'schedule id')
      .action(
        action(async (id: string, opts: ClientOptions) => {
          const s = await ApiClient.from(opts).get<Schedule>(`/v1/schedules/${encodeURIComponent(id)}`);
          print(opts.json, s, () => formatSchedule(s));
        }),
      ),
  );

  for (const verb of ['pause', 'resume'] as const) {
    schedules.addCommand(
      withClientOptions(new Command(verb))
        .description(verb === 'pause' ? 'Stop creating tasks' : 'Start again from the next tick')
        .argument('<id>', 'schedule id')
        .action(
          action(async (id: string, opts: ClientOptions) => {
            const s = await ApiClient.from(opts).request<Schedule>(
              'POST',
              `/v1/schedules/${encodeURIComponent(id)}/${verb}`,
            );
            print(opts.json, s, () => formatSchedule(s));
          }),
        ),
    );
  }

  schedules.addCommand(
    withClientOptions(new Command('delete'))
      .description('Delete a schedule')
      .argument('<id>', 'schedule id')
      .action(
        action(async (id: string, opts: ClientOptions) => {
          await ApiClient.from(opts).request('DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
          if (!opts.json) process.stdout.write(`deleted ${id}\n`);
        }),
      ),
  );
  return schedules;
}
