import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, sse } from '../runtime/helpers.ts';
import { FakeEmbeddings, serverWithEmbeddings } from './fake-embeddings.ts';
import { addDoc, createKb } from './fixtures.ts';
import { chat } from './loop-helpers.ts';

/** The `playbook` of a run's `result` event, replayed from its stream. */
async function playbookOf(s: TestServer, runId: string) {
  const read = await sse(`${s.url}/v1/runs/${runId}/stream`, { key: s.adminKey });
  return read.events.find((e) => e.event === 'result')?.data.playbook;
}

async function documents(s: TestServer, kbId: string) {
  const res = await s.request('GET', `/v1/knowledge-bases/${kbId}/documents`);
  assert.equal(res.status, 200, res.text);
  return res.body as {
    total: number;
    data: { id: string; source: string; title: string; metadata: object }[];
  };
}

const care = `# Dog care

## Feeding

Give the puppy food twice a day.

## Alarms

The siren stays on at night.
`;

for (const store of stores) {
  describe(`playbooks and retrieval modes on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('stores a successful tool run as a playbook once, and retrieves it for a similar request', async () => {
      const kb = await createKb(s, 'calc-playbooks', { kind: 'playbooks' });
      const agent = await createAgent(s, {
        name: 'calc',
        tools: ['calculator'],
        knowledge: ['calc-playbooks'],
      });
      const first = await chat(s, agent.id, { message: 'Use the calculator tool to compute 2 + 3' });
      assert.equal(first.run.status, 'completed');
      assert.equal(first.response.tool_calls.length, 1);
      let docs = await documents(s, kb.id);
      assert.equal(docs.total, 1);
      const doc = docs.data[0]!;
      assert.match(doc.title, /^Playbook: Use the calculator tool to compute 2 \+ 3/);
      assert.deepEqual(doc.metadata, { playbook: true, agent_id: agent.id, tools: ['calculator'] });
      const chunks = await s.app.db.query<{ content: string }>(
        'select content from chunks where document_id = $1 order by position',
        [doc.id],
      );
      const text = chunks.map((c) => c.content).join('\n');
      assert.match(text, /1\. `calculator` with \{"expression":"2 \+ 3"\}/);
      assert.match(text, /The calculator tool returned: 5/);
      assert.deepEqual(await playbookOf(s, first.run_id), { status: 'created', document_id: doc.id });

      // The same goal reached the same way (in another session, spelt differently): no new document.
      const again = await chat(s, agent.id, { message: '  use the CALCULATOR tool to compute 2 + 3 ' });
      assert.equal(again.run.status, 'completed');
      docs = await documents(s, kb.id);
      assert.equal(docs.total, 1);
      assert.deepEqual(await playbookOf(s, again.run_id), { status: 'unchanged', document_id: doc.id });

      // A similar request finds the playbook among the knowledge it is given.
      const similar = await chat(s, agent.id, { message: 'use the calculator tool to compute 7 * 6' });
      const cited = similar.context.retrieval.chunks.map((c: { document: { id: string } }) => c.document.id);
      assert.ok(cited.includes(doc.id), JSON.stringify(similar.context.retrieval));
      assert.equal((await documents(s, kb.id)).total, 2, 'a new sequence is a new playbook');
    });

    it('stores nothing without tool calls, and nothing for an agent that turned playbooks off', async () => {
      const kb = await createKb(s, 'quiet-playbooks', { kind: 'playbooks' });
      const talker = await createAgent(s, { name: 'talker', tools: ['calculator'], knowledge: [kb.id] });
      await chat(s, talker.id, { message: 'hello there' });
      const off = await createAgent(s, {
        name: 'off',
        tools: ['calculator'],
        knowledge: [kb.id],
        metadata: { playbooks: false },
      });
      const turn = await chat(s, off.id, { message: 'use the calculator tool to compute 1 + 1' });
      assert.equal(turn.response.tool_calls.length, 1);
      assert.equal((await documents(s, kb.id)).total, 0);
      assert.equal(await playbookOf(s, turn.run_id), undefined);
    });

    it('retrieves by words alone without an embedding provider', async () => {
      const kb = await createKb(s, 'care-text');
      await addDoc(s, kb.id, { source: 'care.md', content: care });
      const agent = await createAgent(s, { name: 'care-text', knowledge: ['care-text'] });
      const words = await chat(s, agent.id, { message: 'how much food for the puppy' });
      assert.equal(words.context.retrieval.mode, 'text');
      assert.deepEqual(words.context.retrieval.chunks[0].heading_path, ['Dog care', 'Feeding']);
      // A paraphrase with no word in common finds nothing by words.
      const paraphrase = await chat(s, agent.id, { message: 'How many meals does my hound need?' });
      assert.deepEqual(paraphrase.context.retrieval.chunks, []);
    });
  });

  describe(`retrieval with embeddings on ${store}`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream);
    });
    after(() => s.close());

    it('finds a paraphrase by meaning (hybrid), and falls back to words when embedding fails', async () => {
      const kb = await createKb(s, 'care-vec');
      await addDoc(s, kb.id, { source: 'care.md', content: care });
      const agent = await createAgent(s, { name: 'care-vec', knowledge: ['care-vec'] });
      const turn = await chat(s, agent.id, { message: 'How many meals does my hound need?' });
      const r = turn.context.retrieval;
      assert.equal(r.mode, 'hybrid');
      assert.deepEqual(r.chunks[0].heading_path, ['Dog care', 'Feeding']);
      assert.equal(r.chunks[0].text_rank, null);
      assert.equal(r.chunks[0].vector_rank, 1);
      upstream.failWith = 503;
      try {
        const degraded = await chat(s, agent.id, { message: 'puppy food' });
        assert.equal(degraded.run.status, 'completed');
        assert.equal(degraded.context.retrieval.mode, 'text');
        assert.match(degraded.context.warnings[0], /query embedding failed/);
        assert.deepEqual(degraded.context.retrieval.chunks[0].heading_path, ['Dog care', 'Feeding']);
      } finally {
        upstream.failWith = undefined;
      }
    });
  });
}
