import { Command } from 'commander';
import type { Task } from '../tasks/schema.ts';
import { resolveAgent } from './agents.ts';
import { ApiClient, CliError, type ClientOptions, parseJsonFlag, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { print } from './output.ts';
import { formatTask } from './tasks.ts';

/** The flags a task is made of, shared by `create-task` and `schedules create` (each task it creates). */
export interface TaskTemplateFlags extends ClientOptions {
  agent: string;
  type: string;
  title: string;
  payload?: string;
}

/**
 * The client and the task fields the template flags give: the payload is checked before any request,
 * then the agent is resolved by id or name.
 */
export async function taskTemplate(opts: TaskTemplateFlags) {
  const payload = parseJsonFlag('--payload', opts.payload);
  const client = ApiClient.from(opts);
  const agent = await resolveAgent(client, opts.agent);
  return { client, template: { agent_id: agent.id, task_type: opts.type, title: opts.title, payload } };
}

interface Flags extends TaskTemplateFlags {
  description?: string;
  priority?: string;
  delaySeconds?: string;
  maxAttempts?: string;
  idempotencyKey?: string;
  callbackUrl?: string;
}

const int = (flag: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number, not "${value}"`);
  return n;
};

export function createTaskCommand(): Command {
  return withClientOptions(new Command('create-task'))
    .description('Enqueue a task for an agent')
    .requiredOption('--agent <agent>', 'agent id or name')
    .requiredOption('--type <type>', 'task type the agent declares')
    .requiredOption('--title <title>', 'what to do, in a line')
    .option('--description <text>', 'details')
    .option('--payload <json>', 'JSON payload, checked against the task type input schema')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--delay-seconds <s>', 'run no earlier than this many seconds from now')
    .option('--max-attempts <n>', 'attempts before failing (default 3)')
    .option('--idempotency-key <key>', 'the same key returns the existing task')
    .option('--callback-url <url>', 'POSTed the task when it ends (signed)')
    .action(
      action(async (opts: Flags) => {
        const { client, template } = await taskTemplate(opts);
        const task = await client.request<Task>('POST', '/v1/tasks', {
          body: {
            ...template,
            description: opts.description,
            priority: int('--priority', opts.priority),
            delay_seconds: int('--delay-seconds', opts.delaySeconds),
            max_attempts: int('--max-attempts', opts.maxAttempts),
            idempotency_key: opts.idempotencyKey,
            callback_url: opts.callbackUrl,
          },
        });
        print(opts.json, task, () => formatTask(task));
      }),
    );
}
