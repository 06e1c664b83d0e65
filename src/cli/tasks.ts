import { Command } from 'commander';
import type { Page } from '../db/page.ts';
import type { Task } from '../tasks/schema.ts';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type Column, formatRecord, formatTable, print, shortTime } from './output.ts';

const columns: Column<Task>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'status', value: (t) => t.status },
  { header: 'type', value: (t) => t.task_type, max: 20 },
  { header: 'title', value: (t) => t.title, max: 40 },
  { header: 'attempts', value: (t) => `${t.attempts}/${t.max_attempts}` },
  { header: 'created', value: (t) => shortTime(t.created_at) },
];

export const formatTask = (t: Task) =>
  formatRecord([
    ['id', t.id],
    ['status', t.status],
    ['agent', t.agent_id],
    ['type', t.task_type],
    ['title', t.title],
    ['description', t.description],
    ['priority', t.priority],
    ['attempts', `${t.attempts}/${t.max_attempts}`],
    ['run at', t.run_at],
    ['payload', t.payload],
    ['result', t.result],
    ['summary', t.result_summary],
    ['error', t.error_message],
    ['lease', t.lease_owner ? `${t.lease_owner} until ${t.lease_expires_at}` : null],
    [
      'callback',
      t.callback_url
        ? `${t.callback_url} (${t.callback_attempts} attempts, ${t.callback_status ?? '-'})`
        : null,
    ],
    ['created', t.created_at],
    ['started', t.started_at],
    ['completed', t.completed_at],
  ]);

interface ListFlags extends ClientOptions {
  agent?: string;
  status?: string;
  type?: string;
  limit?: string;
  offset?: string;
}

export function tasksCommand(): Command {
  const tasks = new Command('tasks').description('List, inspect, cancel and retry tasks');

  tasks.addCommand(
    withClientOptions(new Command('list'))
      .description('List tasks, newest first')
      .option('--agent <id>', 'only this agent’s tasks (agent id)')
      .option('--status <status>', 'pending, in_progress, completed, failed or cancelled')
      .option('--type <type>', 'only this task type')
      .option('--limit <n>', 'at most this many (1-500, default 50)')
      .option('--offset <n>', 'skip this many')
      .action(
        action(async (opts: ListFlags) => {
          const page = await ApiClient.from(opts).get<Page<Task>>('/v1/tasks', {
            query: {
              agent_id: opts.agent,
              status: opts.status,
              task_type: opts.type,
              limit: opts.limit,
              offset: opts.offset,
            },
          });
          print(opts.json, page, () => formatTable(page.data, columns));
        }),
      ),
  );

  tasks.addCommand(
    withClientOptions(new Command('get'))
      .description('Show one task')
      .argument('<id>', 'task id')
      .action(
        action(async (id: string, opts: ClientOptions) => {
          const task = await ApiClient.from(opts).get<Task>(`/v1/tasks/${encodeURIComponent(id)}`);
          print(opts.json, task, () => formatTask(task));
        }),
      ),
  );

  for (const [verb, help] of [
    ['cancel', 'Cancel a pending task, or abort a running one'],
    ['retry', 'Run a failed or cancelled task again (attempts reset)'],
  ] as const) {
    tasks.addCommand(
      withClientOptions(new Command(verb))
        .description(help)
        .argument('<id>', 'task id')
        .action(
          action(async (id: string, opts: ClientOptions) => {
            const task = await ApiClient.from(opts).request<Task>(
              'POST',
              `/v1/tasks/${encodeURIComponent(id)}/${verb}`,
            );
            print(opts.json, task, () => formatTask(task));
          }),
        ),
    );
  }
  return tasks;
}
