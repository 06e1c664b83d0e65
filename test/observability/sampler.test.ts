import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { FakeUpstream, openai } from '../models/helpers/fake-upstream.ts';
import { OtlpReceiver, startTracedApp } from './otlp-receiver.ts';

/**
 * The standard sampler variables (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) decide what is
 * recorded: each case runs Agentry in its own process, chats once through a fake model upstream
 * on loopback, and stops it (which exports whatever it holds). What the receiver got then is all
 * it will ever get, and the upstream's traceparent flags say whether the call was sampled.
 */
describe('OTEL_TRACES_SAMPLER', () => {
  const receiver = new OtlpReceiver();
  const upstream = new FakeUpstream();
  before(async () => {
    await receiver.start();
    await upstream.start();
    upstream.answer({ status: 200, body: openai.completion('Sampled or not.') });
  });
  after(async () => {
    await upstream.close();
    await receiver.close();
  });

  /** One chat under the sampler `env` names, with a caller's sampled traceparent; what was exported and sent. */
  const chatUnder = async (role: string, env: Record<string, string>) => {
    const app = await startTracedApp(
      receiver,
      {
        store: memoryStore(),
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        models: { providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } } },
      },
      `agentry.role=${role}`,
      env,
    );
    const seen = upstream.seen.length;
    try {
      const traceId = randomBytes(16).toString('hex');
      const res = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${app.adminKey}`,
          'content-type': 'application/json',
          traceparent: `00-${traceId}-b7ad6b7169203331-01`,
        },
        body: JSON.stringify({ model: 'up/gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200, await res.text());
    } finally {
      await app.stop();
    }
    return {
      exported: receiver.spans.filter((s) => s.resource['agentry.role'] === role).map((s) => s.name),
      sent: String(upstream.seen[seen]?.headers.traceparent),
    };
  };

  it('always_off records nothing, and tells the upstream its call is not sampled', async () => {
    const { exported, sent } = await chatUnder('off', { OTEL_TRACES_SAMPLER: 'always_off' });
    assert.deepEqual(exported, []);
    assert.match(sent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it('traceidratio with ratio 0 records nothing, even under a sampled caller (not parent-based)', async () => {
    const { exported, sent } = await chatUnder('ratio0', {
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    assert.deepEqual(exported, []);
    assert.match(sent, /-00$/);
  });

  it('traceidratio with ratio 1 records the request and its model call', async () => {
    const { exported, sent } = await chatUnder('ratio1', {
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
    });
    assert.ok(exported.includes('POST /v1/chat/completions'), exported.join(', '));
    assert.ok(exported.includes('chat up/gpt-test'), exported.join(', '));
    assert.match(sent, /-01$/);
  });
});
