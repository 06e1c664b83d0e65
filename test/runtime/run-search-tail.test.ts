import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { readEvents, readSse } from '../tasks/helpers.ts';
import { createAgent } from './helpers.ts';

for (const store of stores) {
  describe(`run search, total and tail on ${store}`, () => {
    let s: TestServer;
    let echo: { id: string; name: string };
    let other: { id: string; name: string };

    const chat = async (agentId: string, message: string) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false } });
      assert.equal(res.status, 200, res.text);
      return (res.body as { run_id: string }).run_id;
    };
    const list = async (query: string) => {
      const res = await s.request('GET', `/v1/runs?${query}`);
      assert.equal(res.status, 200, res.text);
      return res.body as {
        data: Array<{ id: string; input: string }>;
        total: number;
        next_cursor: string | null;
      };
    };

    before(async () => {
      s = await startServer(store);
      echo = await createAgent(s, { name: 'echo' });
      other = await createAgent(s, { name: 'other' });
      await chat(echo.id, 'the Blue heron at dawn');
      await chat(echo.id, 'a 100% sure answer');
      await chat(echo.id, 'plain words');
      await chat(other.id, 'a blue whale');
    });
    after(() => s.close());

    it('finds runs by text in their input or output, in any case, with the total of all pages', async () => {
      const blue = await list('q=BLUE&limit=1');
      assert.equal(blue.total, 2, 'both runs that mention blue, though the page holds one');
      assert.equal(blue.data.length, 1);
      assert.ok(blue.next_cursor);
      const echoed = await list(`q=blue&agent_id=${echo.id}`);
      assert.deepEqual(
        echoed.data.map((r) => r.input),
        ['the Blue heron at dawn'],
      );
      assert.equal(echoed.total, 1);
      // A LIKE wildcard in the text is the character itself: `%` matches only a run with `%` in it.
      const percent = await list('q=%25');
      assert.deepEqual(
        percent.data.map((r) => r.input),
        ['a 100% sure answer'],
      );
      assert.equal((await list('')).total, 4);
      assert.equal((await list('q=nowhere-to-be-found')).total, 0);
    });

    it('tails the runs created after it opened, under its filters, and resumes after the last one seen', async () => {
      const auth = { authorization: `Bearer ${s.adminKey}` };
      // The tail starts after the newest run there is when it answers: its headers are in first.
      const opened = await fetch(`${s.url}/v1/runs/tail?agent_id=${echo.id}`, { headers: auth });
      const tail = readEvents(opened, 2);
      const first = await chat(echo.id, 'first after the tail opened');
      await chat(other.id, 'not under the filter');
      const second = await chat(echo.id, 'second after the tail opened');
      const got = await tail;
      assert.equal(got.status, 200);
      assert.deepEqual(
        got.events.map((e) => [e.event, e.data.id]),
        [
          ['run', first],
          ['run', second],
        ],
      );
      assert.deepEqual(
        got.events.map((e) => e.id),
        ['1', '2'],
      );
      // A client resuming after the first run hears the second again, its ids counting on.
      const resumed = await readSse(
        `${s.url}/v1/runs/tail?agent_id=${echo.id}&after=${first}`,
        { ...auth, 'last-event-id': '1' },
        1,
      );
      assert.deepEqual(
        resumed.events.map((e) => [e.id, e.data.id]),
        [['2', second]],
      );
    });

    it("keeps the system prompt and the session's earlier messages count in the first model call's trace only", async () => {
      const calc = await createAgent(s, {
        name: 'calc',
        tools: ['calculator'],
        system_prompt: 'Count for the heron survey.',
      });
      const first = await s.request('POST', `/v1/agents/${calc.id}/chat`, {
        body: { message: 'hello', stream: false },
      });
      const second = await s.request('POST', `/v1/agents/${calc.id}/chat`, {
        body: {
          message: 'use the calculator tool on 2 + 2',
          session_id: first.body.session_id,
          stream: false,
        },
      });
      assert.equal(second.status, 200, second.text);
      const trace = await s.request('GET', `/v1/runs/${second.body.run_id}/trace`);
      const models = (trace.body.spans as Array<{ kind: string; input: Record<string, unknown> }>).filter(
        (x) => x.kind === 'model',
      );
      assert.equal(models.length, 2, 'a model call before the tool and one after');
      assert.equal(models[0]!.input.system, 'Count for the heron survey.');
      assert.equal(models[0]!.input.earlier, 2, "the first run's message and answer");
      assert.equal(models[1]!.input.system, undefined);
      assert.equal(models[1]!.input.earlier, undefined);
    });

    it('refuses a bad filter on the tail with 400', async () => {
      const res = await s.request('GET', '/v1/runs/tail?after=not-a-run');
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'validation_error');
    });
  });
}
