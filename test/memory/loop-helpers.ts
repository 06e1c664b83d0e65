import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.ts';

/** The outcome of a non-streaming chat turn, with its run, its model steps and the first one's context. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
export type Turn = any;

/** One non-streaming chat turn, then its run (GET /v1/runs/:id) with the model steps' recorded context. */
export async function chat(
  s: TestServer,
  agentId: string,
  body: Record<string, unknown>,
  key?: string,
): Promise<Turn> {
  const res = await s.request('POST', `/v1/agents/${agentId}/chat`, {
    body: { stream: false, ...body },
    key,
  });
  assert.equal(res.status, 200, res.text);
  const run = await s.request('GET', `/v1/runs/${res.body.run_id}`, { key });
  assert.equal(run.status, 200, run.text);
  const models = run.body.steps.filter((st: { kind: string }) => st.kind === 'model');
  return { ...res.body, run: run.body, context: models[0]?.input.context, models };
}
