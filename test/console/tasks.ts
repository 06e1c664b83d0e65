import assert from 'node:assert/strict';
import { eventually } from '../helpers/eventually.ts';
import type { TestServer } from '../helpers/server.ts';

/** Submits a task through the API (as a client would, beside the page) and returns its id. */
export async function submitTask(
  s: TestServer,
  agentId: string,
  title: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await s.request('POST', '/v1/tasks', {
    body: { agent_id: agentId, task_type: 'default', title, ...extra },
  });
  assert.equal(res.status, 202, res.text);
  return res.body.id as string;
}

/** Waits until the task has `status`. */
export function taskSettled(s: TestServer, id: string, status: string): Promise<true> {
  return eventually(
    async () => ((await s.request('GET', `/v1/tasks/${id}`)).body.status === status ? true : undefined),
    15_000,
    `task ${id} ${status}`,
  );
}
