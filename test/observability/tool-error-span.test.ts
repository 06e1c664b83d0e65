import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { FakeUpstream, openai } from '../models/helpers/fake-upstream.ts';
import { OtlpReceiver, startTracedApp } from './otlp-receiver.ts';

/**
 * A tool's error goes to the operator's trace backend as the `execute_tool` span's status: a
 * credential the error quotes (here, a bearer token the model put in the arguments) is redacted.
 */
describe('execute_tool span of a failing tool', () => {
  const receiver = new OtlpReceiver();
  const upstream = new FakeUpstream();
  let app: Awaited<ReturnType<typeof startTracedApp>>;
  const secret = 'sk-live0123456789abcdefXYZ';

  before(async () => {
    await receiver.start();
    await upstream.start();
    app = await startTracedApp(
      receiver,
      {
        store: memoryStore(),
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        models: { providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } } },
      },
      'agentry.role=api',
    );
  });
  after(async () => {
    await app?.stop();
    await upstream.close();
    await receiver.close();
  });

  it('is an error whose status message has the credential redacted', async () => {
    upstream.answer(
      {
        status: 200,
        body: openai.completion(null, {
          tool_calls: [
            {
              id: 'call_tz',
              type: 'function',
              function: { name: 'current_time', arguments: JSON.stringify({ timezone: `Bearer ${secret}` }) },
            },
          ],
        }),
      },
      { status: 200, body: openai.completion('That time zone does not exist.') },
    );
    const headers = { authorization: `Bearer ${app.adminKey}`, 'content-type': 'application/json' };
    const agent = await fetch(`${app.url}/v1/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'clock', model: 'up/gpt-test', tools: ['current_time'] }),
    });
    assert.equal(agent.status, 201);
    const { id } = (await agent.json()) as { id: string };
    const res = await fetch(`${app.url}/v1/agents/${id}/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ message: 'what time is it?', stream: false }),
    });
    assert.equal(res.status, 200, await res.text());
    const span = await eventually(
      async () => receiver.named('execute_tool current_time')[0],
      15_000,
      'the execute_tool span',
    );
    assert.equal(span.status.code, 2, 'ERROR');
    assert.equal(span.attributes['error.type'], 'tool_error');
    assert.match(String(span.status.message), /^unknown time zone: Bearer \[redacted\]/);
    assert.ok(!JSON.stringify(receiver.spans).includes(secret), 'no exported span holds the credential');
  });
});
