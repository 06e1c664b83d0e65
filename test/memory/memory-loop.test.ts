import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai } from '../models/helpers/fake-upstream.ts';
import { createAgent } from '../runtime/helpers.ts';
import { addDoc, createKb } from './fixtures.ts';
import { chat, type Turn } from './loop-helpers.ts';

const persona = `# Rex

You are Rex, a companion toy dog. Your mission is to keep the child company.

## Constraints

Never share the family's address. Never bark after bedtime.
`;

const care = `# Dog care

## Feeding

Feed the dog twice a day, morning and evening.

## Walks

Walk the dog after every meal.
`;

for (const store of stores) {
  describe(`memory in the agent loop on ${store}`, () => {
    let s: TestServer;
    const upstream = new FakeUpstream();
    let personaKb: { id: string };
    let careKb: { id: string };
    let careDoc: string;

    before(async () => {
      await upstream.start();
      upstream.answer({ status: 200, body: openai.completion('Woof! Happy to help.') });
      s = await startServer(store, {
        models: {
          providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } },
          retries: { max: 0 },
        },
        memory: { history_tokens: 150 },
      });
      personaKb = await createKb(s, 'rex-persona', { kind: 'persona' });
      await addDoc(s, personaKb.id, { source: 'rex.md', content: persona });
      careKb = await createKb(s, 'dog-care');
      careDoc = (await addDoc(s, careKb.id, { source: 'care.md', content: care })).document.id;
    });
    after(async () => {
      await s.close();
      await upstream.close();
    });

    it('puts the persona knowledge in the system message of every call, whatever the message', async () => {
      const rex = await createAgent(s, {
        name: 'rex',
        model: 'up/rex',
        system_prompt: 'Answer in one sentence.',
        knowledge: ['rex-persona', careKb.id],
      });
      for (const message of ['How often should I feed the dog?', 'Tell me a joke about cats.']) {
        upstream.seen.length = 0;
        const turn = await chat(s, rex.id, { message });
        assert.equal(turn.response.text, 'Woof! Happy to help.');
        const sent = upstream.seen[0]!.body.messages;
        assert.equal(sent[0].role, 'system');
        assert.match(sent[0].content, /Never share the family's address\. Never bark after bedtime\./);
        assert.match(sent[0].content, /## Rex > Constraints/);
        assert.match(sent[0].content, /Answer in one sentence\./);
        assert.ok(sent[0].content.indexOf('You are Rex') < sent[0].content.indexOf('Answer in one sentence'));
        assert.equal(sent.at(-1).content, message);
        assert.deepEqual(
          turn.context.persona.map((p: { knowledge_base: { name: string } }) => p.knowledge_base.name),
          ['rex-persona'],
        );
        assert.ok(turn.context.persona[0].tokens > 10);
        // Persona knowledge is never a retrieval candidate, though its words ("dog") match.
        assert.deepEqual(
          turn.context.retrieval.knowledge_bases.map((k: { name: string }) => k.name),
          ['dog-care'],
        );
        assert.ok(
          turn.context.retrieval.chunks.every(
            (c: { knowledge_base: string }) => c.knowledge_base === 'dog-care',
          ),
        );
      }
    });

    it('cuts an oversized persona at its budget with a visible marker', async () => {
      const big = await createKb(s, 'big-persona', { kind: 'persona' });
      const rules = Array.from({ length: 400 }, (_, i) => `Rule ${i}: never do thing number ${i} at all.`);
      await addDoc(s, big.id, { source: 'rules.md', content: `# Rules\n\n${rules.join('\n\n')}` });
      const agent = await createAgent(s, { name: 'ruled', model: 'up/ruled', knowledge: ['big-persona'] });
      upstream.seen.length = 0;
      const turn = await chat(s, agent.id, { message: 'hi' });
      const p = turn.context.persona[0];
      assert.equal(p.truncated, true);
      assert.ok(p.tokens <= 4_000 + 20, String(p.tokens));
      const system = upstream.seen[0]!.body.messages[0].content as string;
      assert.match(system, /Rule 0: never do thing number 0 at all\./);
      assert.match(system, /\[\.\.\.persona truncated to fit the context budget\.\.\.\]$/);
      assert.doesNotMatch(system, /Rule 399:/);
      // Chunks repeat the end of the one before (overlap): the persona text has each rule once.
      for (let i = 0; i < 200; i++) assert.equal(system.split(`Rule ${i}: `).length - 1, 1, `rule ${i}`);
    });

    it('cites retrieved chunks by document, in the prompt and in the model step', async () => {
      const agent = await createAgent(s, { name: 'carer', model: 'up/carer', knowledge: ['dog-care'] });
      upstream.seen.length = 0;
      const turn = await chat(s, agent.id, { message: 'How often should the dog be fed?' });
      const r = turn.context.retrieval;
      assert.equal(r.mode, 'text');
      assert.equal(r.query, 'How often should the dog be fed?');
      assert.ok(r.chunks.length > 0);
      const top = r.chunks[0];
      assert.equal(top.document.id, careDoc);
      assert.equal(top.document.title, 'Dog care');
      assert.deepEqual(top.heading_path, ['Dog care', 'Feeding']);
      assert.equal(top.knowledge_base, 'dog-care');
      assert.ok(top.score > 0 && top.text_rank === 1);
      const system = upstream.seen[0]!.body.messages[0].content as string;
      assert.match(system, /Relevant knowledge/);
      assert.ok(
        system.includes(`[1] Dog care > Dog care > Feeding (document ${careDoc}, knowledge base dog-care)`),
      );
      assert.match(system, /Feed the dog twice a day/);
    });

    it('drops old turns behind a marker when the history outgrows its budget', async () => {
      const agent = await createAgent(s, { name: 'chatty', model: 'up/chatty' });
      const long = (n: number) =>
        `Turn ${n}: ${'a fairly long sentence about nothing in particular. '.repeat(6)}`;
      let session: string | undefined;
      let turn: Turn;
      for (let n = 1; n <= 4; n++) {
        upstream.seen.length = 0;
        turn = await chat(s, agent.id, { message: long(n), ...(session && { session_id: session }) });
        session = turn.session_id;
      }
      const h = turn.context.history;
      assert.equal(h.total, 7);
      assert.ok(h.dropped >= 2, JSON.stringify(h));
      assert.equal(h.kept + h.dropped, h.total);
      assert.equal(h.budget, 150);
      assert.equal(h.marker, `[...${h.dropped} earlier messages omitted to fit the context budget...]`);
      const sent = upstream.seen[0]!.body.messages;
      assert.deepEqual(sent[0], { role: 'user', content: h.marker });
      assert.equal(sent.length, h.kept + 1);
      assert.equal(sent.at(-1).content, long(4));
      // The whole conversation is still in the session: only what the model is sent was cut.
      const all = await s.request('GET', `/v1/sessions/${session}/messages`);
      assert.equal(all.body.data.length, 8);
    });

    it('gives each swarm member its own persona and knowledge, recorded on its steps', async () => {
      const mock = s.app.services.models.mock;
      const front = await createAgent(s, {
        name: 'front',
        model: 'mock/mem-front',
        knowledge: ['rex-persona'],
        handoffs: ['carer2'],
      });
      const carer = await createAgent(s, {
        name: 'carer2',
        model: 'mock/mem-carer',
        knowledge: ['dog-care'],
      });
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'mem-swarm', kind: 'swarm', members: [front.id, carer.id] },
      });
      assert.equal(spec.status, 201, spec.text);
      mock.script('mem-front', [
        { tool_calls: [{ name: 'transfer_to_carer2', arguments: { reason: 'care' } }] },
      ]);
      mock.script('mem-carer', [{ content: 'Twice a day.' }]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.body.id}/run`, {
        body: { message: 'How often do I feed the dog?', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      const models = run.body.steps.filter((st: { kind: string }) => st.kind === 'model');
      assert.equal(models.length, 2);
      assert.equal(models[0].input.context.persona[0].knowledge_base.name, 'rex-persona');
      assert.equal(models[0].input.context.retrieval, undefined);
      assert.equal(models[1].input.context.persona.length, 0);
      assert.equal(models[1].input.context.retrieval.chunks[0].document.id, careDoc);
    });

    it('an agent without knowledge records only its history, and a missing binding is a warning', async () => {
      const plain = await createAgent(s, { name: 'plain' });
      const turn = await chat(s, plain.id, { message: 'hello' });
      assert.deepEqual(Object.keys(turn.context), ['history']);
      const lost = await createAgent(s, { name: 'lost', knowledge: ['no-such-kb', 'dog-care'] });
      const second = await chat(s, lost.id, { message: 'feed the dog' });
      assert.equal(second.run.status, 'completed');
      assert.deepEqual(second.context.warnings, [
        'knowledge base no-such-kb is bound to the agent but does not exist',
      ]);
      assert.equal(second.context.retrieval.chunks[0].document.id, careDoc);
    });

    it('retrieves only from the agent own bindings, never another agent or tenant', async () => {
      const alarms = await createKb(s, 'alarms');
      const alarmDoc = (
        await addDoc(s, alarms.id, { source: 'a.md', content: 'The alarm code changes weekly.' })
      ).document.id;
      const garden = await createKb(s, 'garden');
      await addDoc(s, garden.id, { source: 'g.md', content: 'The garden alarm clock rings at six.' });
      const x = await createAgent(s, { name: 'x', knowledge: ['alarms'] });
      const turn = await chat(s, x.id, { message: 'alarm' });
      assert.deepEqual(
        turn.context.retrieval.chunks.map((c: { document: { id: string } }) => c.document.id),
        [alarmDoc],
      );
      // Another tenant, with a knowledge base of the same name, and a binding by this tenant's id.
      const other = await createTenant(s, `other-${store}`);
      const theirs = await createKb(s, 'alarms', { key: other.adminKey });
      const theirDoc = (
        await addDoc(s, theirs.id, { source: 'b.md', content: 'Their alarm is red.' }, other.adminKey)
      ).document.id;
      const res = await s.request('POST', '/v1/agents', {
        body: { name: 'y', knowledge: ['alarms', garden.id] },
        key: other.adminKey,
      });
      assert.equal(res.status, 201, res.text);
      const mine = await chat(s, res.body.id, { message: 'alarm' }, other.adminKey);
      assert.deepEqual(
        mine.context.retrieval.chunks.map((c: { document: { id: string } }) => c.document.id),
        [theirDoc],
      );
      assert.deepEqual(mine.context.warnings, [
        `knowledge base ${garden.id} is bound to the agent but does not exist`,
      ]);
      // And back: this tenant's agent still sees its own only.
      const again = await chat(s, x.id, { message: 'alarm red' });
      assert.ok(
        again.context.retrieval.chunks.every((c: { document: { id: string } }) => c.document.id === alarmDoc),
      );
    });
  });
}
