import type { CreateAppOptions } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { type StoreKind, startServer, type TestServer } from '../helpers/server.ts';

/**
 * Queue settings that keep tests quick: fast retries, a 1 s fallback poll. Leases of 30 s: no test
 * of these waits for one to lapse, and a 2 s lease (renewed every 0.7 s) could lapse in a loaded
 * machine's pauses and run an attempt twice.
 */
export const fastQueue: ConfigInput['tasks'] = {
  workers: 4,
  lease_seconds: 30,
  poll_seconds: 1,
  retry_base_seconds: 0.05,
  retry_cap_seconds: 0.2,
  callback_retry_base_seconds: 0.1,
  callback_retry_cap_seconds: 0.3,
};

export async function startQueueServer(
  store: StoreKind,
  tasks: ConfigInput['tasks'] = {},
  options: Pick<CreateAppOptions, 'network'> = {},
): Promise<TestServer> {
  return startServer(
    store,
    { tasks: { ...fastQueue, ...tasks }, server: { shutdown_grace_seconds: 2 } },
    options,
  );
}

export const summarizeType = {
  name: 'summarize',
  input_schema: {
    type: 'object',
    properties: {
      text: { type: 'string' },
      opts: { type: 'object', properties: { n: { type: 'integer' } } },
    },
    required: ['text'],
    additionalProperties: false,
  },
  prompt_template: 'Summarise: {{payload.text}}',
};

export async function createAgent(s: TestServer, name: string, taskTypes: unknown[] = [summarizeType]) {
  const res = await s.request('POST', '/v1/agents', { body: { name, task_types: taskTypes } });
  if (res.status !== 201) throw new Error(`agent: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string };
}

import { eventually } from '../helpers/eventually.ts';

export { eventually };

export async function waitForStatus(s: TestServer, id: string, statuses: string[], ms = 15_000) {
  return eventually(
    async () => {
      const res = await s.request('GET', `/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    ms,
    `task ${id} to reach ${statuses.join('|')}`,
  );
}

/** Reads an SSE stream to its end (or `max` events), returning the parsed events. */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  max = 1000,
): Promise<{ status: number; events: Array<{ id: string; event: string; data: Record<string, unknown> }> }> {
  return readEvents(await fetch(url, { headers }), max);
}

/** The events of an SSE response already opened (its headers in), to its end or `max` events. */
export async function readEvents(
  res: Response,
  max = 1000,
): Promise<{ status: number; events: Array<{ id: string; event: string; data: Record<string, unknown> }> }> {
  const events: Array<{ id: string; event: string; data: Record<string, unknown> }> = [];
  if (!res.body || res.status !== 200) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body.getReader();
  while (events.length < max) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields: Record<string, string> = {};
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(': ');
        if (i > 0) fields[line.slice(0, i)] = (fields[line.slice(0, i)] ?? '') + line.slice(i + 2);
      }
      if (fields.data)
        events.push({ id: fields.id ?? '', event: fields.event ?? '', data: JSON.parse(fields.data) });
      cut = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel().catch(() => {});
  return { status: res.status, events };
}
