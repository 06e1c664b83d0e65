import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { openai } from '../models/helpers/fake-upstream.ts';
import { tracedUpstreamSuite } from './otlp-receiver.ts';

/**
 * A tool's error goes to the operator's trace backend as the `execute_tool` span's status: a
 * credential the error quotes (here, a bearer token the model put in the arguments) is redacted.
 */
describe('execute_tool span of a failing tool', () => {
  const t = tracedUpstreamSuite();
  const { receiver, upstream } = t;
  const secret = 'sk-live0123456789abcdefXYZ';

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
    const headers = { authorization: `Bearer ${t.app.adminKey}`, 'content-type': 'application/json' };
    const agent = await fetch(`${t.app.url}/v1/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'clock', model: 'up/gpt-test', tools: ['current_time'] }),
    });
    assert.equal(agent.status, 201);
    const { id } = (await agent.json()) as { id: string };
    const res = await fetch(`${t.app.url}/v1/agents/${id}/chat`, {
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
