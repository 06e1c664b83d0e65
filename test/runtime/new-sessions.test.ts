/**
 * New sessions' first turns that arrive together are started in one statement
 * (src/runtime/runs/new-sessions.ts): each gets its own session, run, user message and events in
 * their order; a start whose agent changed is refused alone, and so is one whose values the store
 * refuses, while the others of its batch are written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { event } from '../../src/runtime/runs/events.ts';
import { NewSessionStarts } from '../../src/runtime/runs/new-sessions.ts';
import { AgentChanged, type BeginInput, RunStore } from '../../src/runtime/runs/store.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`new sessions started together, on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'batched', model: 'mock/default' },
      });
      assert.equal(made.status, 201, made.text);
      agentId = made.body.id;
    });
    after(() => s.close());

    /** The store, counting the start statements sent through it and the size of each one's starts. */
    const counted = () => {
      const db = s.app.db;
      const sent = { batches: [] as Array<{ starts: number; chars: number }> };
      const counting: Db = Object.create(db, {
        query: {
          value: (text: string, params: unknown[] = [], options?: { name?: string }) => {
            if (options?.name === 'agentry_runs_begin') {
              const json = params[0] as string;
              sent.batches.push({ starts: (JSON.parse(json) as unknown[]).length, chars: json.length });
            }
            return db.query(text, params, options);
          },
        },
      });
      return { store: new RunStore(counting), db: counting, sent };
    };

    const start = (i: number, changes: Partial<BeginInput> = {}): BeginInput => ({
      tenantId: s.app.defaultTenantId,
      agentId,
      agentVersion: 1,
      input: `message ${i}`,
      context: { i },
      options: { streaming: true, max_steps: 10, on_disconnect: 'continue' },
      multitask: 'reject',
      owner: 'this-process',
      leaseSeconds: 30,
      events: ({ sessionId, runId }) => [
        event('session_start', { session_id: sessionId, run_id: runId, i }),
        event('system', { i }),
        event('third', { i }),
      ],
      ...changes,
    });

    it('writes each of many starts made at once, in fewer statements than starts', async () => {
      const { store, sent } = counted();
      const begun = await Promise.all(Array.from({ length: 40 }, (_, i) => store.begin(start(i))));
      assert.ok(sent.batches.length <= 2, `${sent.batches.length} start statements for 40 starts`);
      for (const [i, b] of begun.entries()) {
        assert.equal(b.newSession, true);
        assert.equal(b.status, 'running');
        assert.deepEqual(
          b.events.map((e) => [e.type, e.data.i]),
          [
            ['session_start', i],
            ['system', i],
            ['third', i],
          ],
        );
        const seqs = b.events.map((e) => e.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((x, y) => x - y),
          'a run’s events in their order',
        );
        const [row] = await s.app.db.query<{
          input: string;
          context: { i: number };
          session_id: string;
          content: string;
          seqs: string[];
        }>(
          `select r.input, r.context, r.session_id, m.content,
                  (select array_agg(seq order by seq) from events where stream_id = r.id) as seqs
           from runs r join messages m on m.run_id = r.id where r.id = $1`,
          [b.runId],
        );
        assert.equal(row?.input, `message ${i}`);
        assert.deepEqual(row?.context, { i });
        assert.equal(row?.session_id, b.sessionId);
        assert.equal(row?.content, `message ${i}`);
        assert.deepEqual(row?.seqs.map(Number), seqs, 'the events written are the ones returned');
      }
    });

    it('refuses a start whose agent changed, and writes the others of its batch', async () => {
      const { store, sent } = counted();
      const results = await Promise.allSettled([
        store.begin(start(1)),
        store.begin(start(2, { agentVersion: 99 })),
        store.begin(start(3)),
      ]);
      assert.equal(sent.batches.length, 1);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof AgentChanged);
    });

    it('refuses a start whose values the store refuses, and writes the others of its batch', async () => {
      const { store } = counted();
      const before = await runCount();
      const results = await Promise.allSettled([
        store.begin(start(1)),
        store.begin(start(2, { taskId: 'not-a-uuid' })),
        store.begin(start(3)),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(await runCount(), before + 2);
    });

    it('keeps a statement’s starts under its size cap, and writes a start larger than the cap alone', async () => {
      const { db, sent } = counted();
      const maxChars = 3000;
      const starts = new NewSessionStarts(db, 100, maxChars);
      const inputs = [...Array.from({ length: 9 }, (_, i) => `${i}`.padEnd(300, '.')), 'x'.repeat(5000)];
      const begun = await Promise.all(inputs.map((input, i) => starts.begin(start(i, { input }))));
      assert.equal(begun.length, 10);
      assert.equal(
        sent.batches.reduce((n, b) => n + b.starts, 0),
        10,
      );
      assert.ok(sent.batches.length > 1, 'several statements');
      for (const b of sent.batches) {
        assert.ok(b.starts === 1 || b.chars <= maxChars + 2, `${b.starts} starts in ${b.chars} characters`);
      }
      assert.ok(
        sent.batches.some((b) => b.starts > 1),
        'starts that fit together go together',
      );
      const [row] = await s.app.db.query<{ n: number }>(
        'select length(input)::int as n from runs where id = $1',
        [begun[9]!.runId],
      );
      assert.equal(row?.n, 5000);
    });

    const runCount = async () => {
      const [row] = await s.app.db.query<{ n: number }>('select count(*)::int as n from runs');
      return row!.n;
    };
  });
}
