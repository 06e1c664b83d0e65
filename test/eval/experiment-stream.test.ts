import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { readSse } from '../tasks/helpers.ts';

/** GET /v1/experiments/{id}/stream: an experiment's progress as Server-Sent Events, read by a real client. */

const evaluators = [{ type: 'exact_match' }, { type: 'contains', name: 'says', value: 'said' }];

for (const store of stores) {
  describe(`experiment stream on ${store}`, () => {
    let s: TestServer;
    let headers: Record<string, string>;
    const stream = (id: string, extra: Record<string, string> = {}) =>
      readSse(`${s.url}/v1/experiments/${id}/stream`, { ...headers, ...extra });
    const start = async (agent: string, dataset = 'words') => {
      const res = await s.request('POST', '/v1/experiments', {
        body: { dataset, agent, evaluators, concurrency: 1 },
      });
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    };

    before(async () => {
      s = await startServer(store, { models: { mock: { delays: { slow: 150 } } } as never });
      headers = { authorization: `Bearer ${s.adminKey}` };
      await s.request('POST', '/v1/agents', { body: { name: 'slow', model: 'mock/slow' } });
      const items = ['one', 'two', 'three', 'four'].map((w) => ({
        input: { message: w },
        expected: `You said: ${w}`,
      }));
      assert.equal((await s.request('POST', '/v1/datasets', { body: { name: 'words', items } })).status, 201);
      // Enough items that a cancel seen after the first lands with items left to resume, however slow
      // the machine is (with four, a late cancel could leave none: resume answered 409).
      const many = Array.from({ length: 24 }, (_, i) => ({
        input: { message: `w${i}` },
        expected: `You said: w${i}`,
      }));
      assert.equal(
        (await s.request('POST', '/v1/datasets', { body: { name: 'many', items: many } })).status,
        201,
      );
    });
    after(() => s.close());

    it('streams progress live, an event per finished item, the end and then the summary', async () => {
      const id = await start('slow');
      const { status, events } = await stream(id);
      assert.equal(status, 200);
      const types = events.map((e) => e.event);
      assert.equal(types[0], 'experiment.progress');
      // Opened while it ran: the first frame is a snapshot with items still to go.
      assert.equal(events[0]!.data.status, 'running');
      assert.ok((events[0]!.data.completed as number) < 4);
      const items = events.filter((e) => e.event === 'experiment.item');
      const seen = 4 - (events[0]!.data.pending as number) - (events[0]!.data.running as number);
      assert.deepEqual(
        items.map((e) => e.data.done),
        [1, 2, 3, 4].slice(seen),
      );
      assert.ok(items.every((e) => Number(e.id) > 0));
      assert.deepEqual(types.slice(-2), ['experiment.completed', 'experiment.summary']);
      const summary = events.at(-1)!.data as {
        status: string;
        summary: { evaluators: { name: string; mean: number }[] };
      };
      assert.equal(summary.status, 'completed');
      assert.deepEqual(
        summary.summary.evaluators.map((e) => [e.name, e.mean]),
        [
          ['exact_match', 1],
          ['says', 1],
        ],
      );
    });

    it('resumes after Last-Event-ID, and ends at once on a finished experiment with nothing after it', async () => {
      const id = await start('slow');
      const all = (await stream(id)).events.filter((e) => e.id);
      const second = all.find((e) => e.event === 'experiment.item' && e.data.done === 2)!;
      const rest = await stream(id, { 'last-event-id': second.id });
      assert.deepEqual(
        rest.events.map((e) => e.event),
        [
          'experiment.progress',
          'experiment.item',
          'experiment.item',
          'experiment.completed',
          'experiment.summary',
        ],
      );
      assert.deepEqual(
        rest.events.filter((e) => e.event === 'experiment.item').map((e) => e.data.done),
        [3, 4],
      );
      const end = await stream(id, { 'last-event-id': all.at(-1)!.id });
      assert.deepEqual(
        end.events.map((e) => e.event),
        ['experiment.progress', 'experiment.summary'],
      );
    });

    it('ends with experiment.stopped when cancelled, and goes on after a resume', async () => {
      const id = await start('slow', 'many');
      await eventually(async () => {
        const e = await s.request('GET', `/v1/experiments/${id}`);
        return e.body.progress.completed >= 1 ? true : undefined;
      });
      const reading = stream(id);
      const cancelled = await s.request('POST', `/v1/experiments/${id}/cancel`);
      assert.equal(cancelled.status, 200, cancelled.text);
      const { events } = await reading;
      const stopped = events.find((e) => e.event === 'experiment.stopped')!;
      assert.equal(stopped.data.status, 'cancelled');
      assert.match(String(stopped.data.reason), /cancelled by/);
      assert.equal(events.at(-1)!.event, 'experiment.summary');
      assert.equal(events.at(-1)!.data.status, 'cancelled');

      // After a resume the stream from the stop on carries on to the real end.
      const resumed = await s.request('POST', `/v1/experiments/${id}/resume`);
      assert.equal(resumed.status, 200, resumed.text);
      const after = await stream(id, { 'last-event-id': stopped.id });
      const types = after.events.map((e) => e.event);
      // (The item running at the cancel may log its result after the stop, before the resume.)
      assert.ok(types.includes('experiment.resumed'), types.join());
      assert.deepEqual(types.slice(-2), ['experiment.completed', 'experiment.summary']);
      assert.equal(after.events.at(-1)!.data.status, 'completed');
    });

    it('answers 404 in the error format for an unknown experiment, before streaming', async () => {
      const res = await fetch(`${s.url}/v1/experiments/00000000-0000-0000-0000-000000000000/stream`, {
        headers,
      });
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /json/);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
      const bad = await fetch(`${s.url}/v1/experiments/nope/stream`, { headers });
      assert.equal(bad.status, 400);
    });
  });
}
