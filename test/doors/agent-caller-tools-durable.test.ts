import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ConfigInput } from '../../src/config/config.ts';
import { durableSuite, kill, type ServerProcess, spawnServer } from '../runtime/durable-helpers.ts';

/**
 * A run that waits on its caller's tool results waits in the store, like an approval: the process
 * that answered the tool call may die (SIGKILL), and the caller's results resume the same run in the
 * next one.
 */
const { backend, dir } = durableSuite('agentry-caller-tools-');

describe("an agent model's wait for the caller's tool results survives a SIGKILL", () => {
  let current: ServerProcess | undefined;
  after(async () => kill(current));

  it('the results sent to the restarted process resume the same run', async () => {
    const config: ConfigInput = {
      store: { data_dir: path.join(dir, 'pglite') },
      server: { host: '127.0.0.1', port: 0, shutdown_grace_seconds: 30, max_event_loop_delay_ms: 0 },
      credentials_file: path.join(dir, 'credentials.json'),
      runtime: { lease_seconds: 2, workspaces_dir: path.join(dir, 'ws') },
    };
    current = await spawnServer(config, backend.url);
    const key = current.key;
    const made = await fetch(`${current.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'helper', model: 'mock/default' }),
    });
    assert.equal(made.status, 201, await made.text());
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const messages: ChatCompletionMessageParam[] = [
      { role: 'user', content: "use the get_weather tool for 'Quito'" },
    ];
    const first = await new OpenAI({
      baseURL: `${current.url}/v1`,
      apiKey: key,
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'agent/helper', messages, tools })
      .withResponse();
    const runId = first.response.headers.get('x-agentry-run-id');
    const call = first.data.choices[0]!.message.tool_calls![0]!;
    assert.equal(first.data.choices[0]!.finish_reason, 'tool_calls');

    await kill(current);
    current = await spawnServer(config, backend.url);
    const openai = new OpenAI({ baseURL: `${current.url}/v1`, apiKey: key, maxRetries: 0 });
    messages.push(first.data.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'warm' });
    const second = await openai.chat.completions
      .create({ model: 'agent/helper', messages, tools })
      .withResponse();
    assert.equal(second.response.headers.get('x-agentry-run-id'), runId, 'the same run');
    assert.equal(second.data.choices[0]!.message.content, 'The get_weather tool returned: warm');
    const run = await fetch(`${current.url}/v1/runs/${runId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await run.json()) as { status: string; model_calls: number };
    assert.equal(body.status, 'completed');
    assert.equal(body.model_calls, 2);
  });
});
