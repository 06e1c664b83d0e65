import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { FakeUpstream, openai } from '../models/helpers/fake-upstream.ts';
import { OtlpReceiver, type ReceivedSpan, startTracedApp } from './otlp-receiver.ts';

/** The spans of a run's own work beside model and tool calls: retrieval, handoffs, approval waits. */
describe('spans of knowledge retrieval, handoffs and approval waits (OTLP to a receiver on loopback)', () => {
  const receiver = new OtlpReceiver();
  const model = new FakeUpstream();
  let app: Awaited<ReturnType<typeof startTracedApp>>;
  let dir: string;

  const call = async (method: string, p: string, body?: unknown, traceId?: string) => {
    const res = await fetch(`${app.url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${app.adminKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(traceId && { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };
  const exported = (traceId: string, name: string) =>
    eventually(
      async () => receiver.spans.find((s) => s.traceId === traceId && s.name === name),
      15_000,
      `the ${name} span`,
    );
  const inTrace = (traceId: string, name: string): ReceivedSpan[] =>
    receiver.spans.filter((s) => s.traceId === traceId && s.name === name);
  const toolCall = (name: string, args: unknown) =>
    openai.completion(null, {
      tool_calls: [
        { id: `call_${name}`, type: 'function', function: { name, arguments: JSON.stringify(args) } },
      ],
    });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-work-spans-'));
    await Promise.all([receiver.start(), model.start()]);
    app = await startTracedApp(
      receiver,
      {
        store: memoryStore(),
        runtime: { workspaces_dir: dir },
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        models: { providers: { up: { type: 'openai', base_url: `${model.url}/v1` } } },
      },
      'agentry.role=all',
    );
  });
  after(async () => {
    await app?.stop();
    await Promise.all([receiver.close(), model.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a knowledge retrieval under the run: knowledge bases, mode, chunks and documents', async () => {
    const kb = await call('POST', '/v1/knowledge-bases', { name: 'care', kind: 'domain' });
    assert.equal(kb.status, 201, kb.text);
    const doc = await call('POST', `/v1/knowledge-bases/${kb.body.id}/documents`, {
      source: 'care.md',
      content: '# Puppies\n\nPuppies need four small meals a day and plenty of sleep.',
    });
    assert.ok(doc.status === 200 || doc.status === 201, doc.text);
    const agent = await call('POST', '/v1/agents', {
      name: 'carer',
      model: 'up/gpt-test',
      knowledge: ['care'],
    });
    assert.equal(agent.status, 201, agent.text);
    model.answer({ status: 200, body: openai.completion('Four meals.') });
    const traceId = '1f0000000000000000000000000000a1';
    const chat = await call(
      'POST',
      `/v1/agents/${agent.body.id}/chat`,
      { message: 'how many meals do puppies need?', stream: false },
      traceId,
    );
    assert.equal(chat.status, 200, chat.text);
    // The run's span ends after the retrieval's: once it is exported, so is the retrieval.
    const invoke = await exported(traceId, 'invoke_agent carer');
    const retrieval = inTrace(traceId, 'retrieval carer')[0]!;
    assert.equal(retrieval.parentSpanId, invoke.spanId);
    assert.equal(retrieval.attributes['gen_ai.operation.name'], 'retrieval');
    assert.deepEqual(retrieval.attributes['agentry.retrieval.knowledge_bases'], ['care']);
    assert.deepEqual(retrieval.attributes['gen_ai.data_source.id'], [kb.body.id]);
    assert.equal(retrieval.attributes['agentry.retrieval.mode'], 'text');
    assert.ok(Number(retrieval.attributes['agentry.retrieval.chunks']) >= 1);
    assert.deepEqual(retrieval.attributes['agentry.retrieval.documents'], [
      doc.body.id ?? doc.body.document?.id,
    ]);
  });

  it('records each handoff of a swarm, with the receiving member’s calls under it', async () => {
    const triage = await call('POST', '/v1/agents', {
      name: 'triage',
      model: 'up/gpt-test',
      handoffs: ['billing'],
    });
    const billing = await call('POST', '/v1/agents', { name: 'billing', model: 'up/gpt-test' });
    const spec = await call('POST', '/v1/multi-agents', {
      name: 'support',
      kind: 'swarm',
      members: [triage.body.id, billing.body.id],
    });
    assert.equal(spec.status, 201, spec.text);
    model.answer(
      { status: 200, body: toolCall('transfer_to_billing', { reason: 'a charge' }) },
      { status: 200, body: openai.completion('Billing here.') },
    );
    const traceId = '1f0000000000000000000000000000b2';
    const run = await call(
      'POST',
      `/v1/multi-agents/${spec.body.id}/run`,
      { message: 'I was charged twice', stream: false },
      traceId,
    );
    assert.equal(run.status, 200, run.text);
    const invoke = await exported(traceId, 'invoke_agent triage');
    const handoff = inTrace(traceId, 'handoff billing')[0]!;
    assert.equal(handoff.parentSpanId, invoke.spanId);
    assert.equal(handoff.attributes['agentry.handoff.from'], 'triage');
    assert.equal(handoff.attributes['agentry.handoff.to'], 'billing');
    assert.equal(handoff.attributes['agentry.handoff.number'], 1);
    const chats = inTrace(traceId, 'chat up/gpt-test');
    assert.equal(chats.length, 2);
    assert.deepEqual(
      chats.map((c) => c.parentSpanId).sort(),
      [invoke.spanId, handoff.spanId].sort(),
      'triage’s call under the run, billing’s under the handoff',
    );
  });

  it('records the wait for an approval, from the pause to the decision, under the resumed run', async () => {
    const agent = await call('POST', '/v1/agents', {
      name: 'careful',
      model: 'up/gpt-test',
      mode: 'COLLABORATIVE',
      tools: ['write_file'],
    });
    assert.equal(agent.status, 201, agent.text);
    model.answer(
      { status: 200, body: toolCall('write_file', { path: 'note.txt', content: 'hello' }) },
      { status: 200, body: openai.completion('Written.') },
    );
    const chat = await call('POST', `/v1/agents/${agent.body.id}/chat`, {
      message: 'write it',
      stream: false,
    });
    assert.equal(chat.status, 200, chat.text);
    const runId = chat.body.run_id as string;
    const traceId = '1f0000000000000000000000000000c3';
    const approve = await call('POST', `/v1/runs/${runId}/approve`, undefined, traceId);
    assert.equal(approve.status, 200, approve.text);
    const wait = await exported(traceId, 'approval_wait');
    const resumed = await exported(traceId, 'invoke_agent careful');
    assert.equal(wait.parentSpanId, resumed.spanId);
    assert.equal(wait.attributes['agentry.run_id'], runId);
    assert.equal(wait.attributes['agentry.approval.approved'], true);
    assert.deepEqual(wait.attributes['agentry.approval.tools'], ['write_file']);
  });
});
