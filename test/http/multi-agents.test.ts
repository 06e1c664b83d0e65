import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { findCycle } from '../../src/agents/dag.ts';
import { createTenant, journalFor } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

describe('findCycle', () => {
  const e = (from: string, to: string) => ({ from, to });
  it('finds none in a DAG, including diamonds and isolated nodes', () => {
    assert.equal(
      findCycle(['a', 'b', 'c', 'd', 'z'], [e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')]),
      undefined,
    );
    assert.equal(findCycle([], []), undefined);
  });
  it('returns a closed path for a cycle, a self-loop, or a cycle reached late', () => {
    assert.deepEqual(findCycle(['a', 'b'], [e('a', 'b'), e('b', 'a')]), ['a', 'b', 'a']);
    assert.deepEqual(findCycle(['a'], [e('a', 'a')]), ['a', 'a']);
    const cycle = findCycle(['s', 'x', 'y', 'z'], [e('s', 'x'), e('x', 'y'), e('y', 'z'), e('z', 'x')]);
    assert.deepEqual(cycle, ['x', 'y', 'z', 'x']);
  });
});

for (const store of stores) {
  describe(`multi-agent specs API on ${store}`, () => {
    let s: TestServer;
    const ids: Record<string, string> = {};
    before(async () => {
      s = await startServer(store);
      for (const name of ['planner', 'writer', 'critic', 'editor']) {
        const res = await s.request('POST', '/v1/agents', { body: { name } });
        assert.equal(res.status, 201, res.text);
        ids[name] = res.body.id;
      }
    });
    after(() => s.close());

    it('creates a swarm whose entry is the first member, and journals it', async () => {
      const res = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'team',
          kind: 'swarm',
          members: [ids.writer, ids.planner],
          config: { max_handoffs: 5 },
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.entry_agent_id, ids.writer);
      assert.deepEqual(res.body.members, [ids.writer, ids.planner]);
      assert.deepEqual(res.body.config, { max_handoffs: 5 });
      assert.deepEqual(res.body.edges, []);
      assert.equal(res.body.version, 1);
      const got = await s.request('GET', `/v1/multi-agents/${res.body.id}`);
      assert.deepEqual(got.body, res.body);
      const [row] = await journalFor(s, res.body.id);
      assert.equal(row?.action, 'multi_agent.create');
    });

    it('takes an explicit entry agent, which must be a member', async () => {
      const res = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'explicit',
          kind: 'swarm',
          members: [ids.writer, ids.planner],
          entry_agent_id: ids.planner,
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.entry_agent_id, ids.planner);
      const outsider = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'outsider', kind: 'swarm', members: [ids.writer], entry_agent_id: ids.critic },
      });
      assert.equal(outsider.status, 400);
      assert.match(outsider.body.error.message, new RegExp(ids.critic!));
    });

    it('answers 400 without members or entry', async () => {
      const empty = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'empty', kind: 'swarm', members: [] },
      });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.code, 'validation_error');
      const noMembers = await s.request('POST', '/v1/multi-agents', { body: { name: 'none', kind: 'dag' } });
      assert.equal(noMembers.status, 400);
    });

    it('answers 400 naming every member that is not an agent of the tenant', async () => {
      const ghost1 = randomUUID();
      const ghost2 = randomUUID();
      const res = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'ghosts', kind: 'swarm', members: [ids.writer, ghost1, ghost2] },
      });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, new RegExp(ghost1));
      assert.match(res.body.error.message, new RegExp(ghost2));
      assert.deepEqual(res.body.error.details.missing, [ghost1, ghost2]);
      assert.doesNotMatch(res.body.error.message, new RegExp(ids.writer!));
    });

    it('accepts a DAG and rejects one with a cycle, naming it by agent name and id', async () => {
      const dag = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'pipeline',
          kind: 'dag',
          members: [ids.planner, ids.writer, ids.critic, ids.editor],
          edges: [
            { from: ids.planner, to: ids.writer },
            { from: ids.planner, to: ids.critic },
            { from: ids.writer, to: ids.editor },
            { from: ids.critic, to: ids.editor },
          ],
        },
      });
      assert.equal(dag.status, 201, dag.text);
      assert.equal(dag.body.edges.length, 4);

      const cyclic = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'loop',
          kind: 'dag',
          members: [ids.planner, ids.writer, ids.editor],
          edges: [
            { from: ids.planner, to: ids.writer },
            { from: ids.writer, to: ids.planner },
            { from: ids.writer, to: ids.editor },
          ],
        },
      });
      assert.equal(cyclic.status, 400);
      assert.equal(cyclic.body.error.code, 'validation_error');
      assert.match(cyclic.body.error.message, /planner -> writer -> planner/);
      assert.ok(cyclic.body.error.message.includes(`${ids.planner} -> ${ids.writer} -> ${ids.planner}`));
      assert.deepEqual(cyclic.body.error.details.names, ['planner', 'writer', 'planner']);
      const list = await s.request('GET', '/v1/multi-agents?limit=500');
      assert.ok(!list.body.data.some((m: { name: string }) => m.name === 'loop'), 'nothing was stored');
    });

    it('rejects edges on a swarm, edges to non-members, repeated members and unknown fields', async () => {
      const cases = [
        {
          name: 'a',
          kind: 'swarm',
          members: [ids.planner, ids.writer],
          edges: [{ from: ids.planner, to: ids.writer }],
        },
        { name: 'b', kind: 'dag', members: [ids.planner], edges: [{ from: ids.planner, to: ids.writer }] },
        { name: 'c', kind: 'swarm', members: [ids.planner, ids.planner] },
        { name: 'd', kind: 'swarm', members: [ids.planner], leader: ids.planner },
        { name: 'e', kind: 'mesh', members: [ids.planner] },
        { name: 'f', kind: 'swarm', members: ['not-a-uuid'] },
      ];
      for (const body of cases) {
        const res = await s.request('POST', '/v1/multi-agents', { body });
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      }
      const b = await s.request('POST', '/v1/multi-agents', { body: cases[1] });
      assert.match(b.body.error.message, new RegExp(ids.writer!));
    });

    it('refuses a duplicate name with 409', async () => {
      await s.request('POST', '/v1/multi-agents', {
        body: { name: 'twin', kind: 'swarm', members: [ids.planner] },
      });
      const again = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'twin', kind: 'swarm', members: [ids.planner] },
      });
      assert.equal(again.status, 409);
    });

    it('revalidates on PATCH: a change that breaks the spec is refused and changes nothing', async () => {
      const { body: spec } = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'patchable',
          kind: 'dag',
          members: [ids.planner, ids.writer],
          edges: [{ from: ids.planner, to: ids.writer }],
        },
      });
      const cycle = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: {
          edges: [
            { from: ids.planner, to: ids.writer },
            { from: ids.writer, to: ids.planner },
          ],
        },
      });
      assert.equal(cycle.status, 400);
      assert.match(cycle.body.error.message, /planner -> writer -> planner|writer -> planner -> writer/);
      const ghost = randomUUID();
      const missing = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: { members: [ids.planner, ids.writer, ghost] },
      });
      assert.equal(missing.status, 400);
      assert.match(missing.body.error.message, new RegExp(ghost));
      const toSwarm = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, { body: { kind: 'swarm' } });
      assert.equal(toSwarm.status, 400, 'a swarm cannot keep the DAG edges');
      const badEntry = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: { entry_agent_id: ids.critic },
      });
      assert.equal(badEntry.status, 400);
      const unknown = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, { body: { owner: 'me' } });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /owner/);

      const unchanged = await s.request('GET', `/v1/multi-agents/${spec.id}`);
      assert.deepEqual(unchanged.body, spec);

      const empty = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, { body: {} });
      assert.equal(empty.status, 200);
      assert.equal(empty.body.version, 1, 'an empty patch changes nothing');
    });

    it('applies a valid PATCH; replacing the members moves a departed entry to the first new member', async () => {
      const { body: spec } = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'reshuffle', kind: 'swarm', members: [ids.planner, ids.writer] },
      });
      const kept = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: { members: [ids.critic, ids.planner], description: 'v2' },
      });
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.body.entry_agent_id, ids.planner, 'the entry is still a member, so it stays');
      assert.equal(kept.body.description, 'v2');
      assert.equal(kept.body.version, 2);
      const moved = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: { members: [ids.editor, ids.critic] },
      });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.entry_agent_id, ids.editor);
      const toDag = await s.request('PATCH', `/v1/multi-agents/${spec.id}`, {
        body: { kind: 'dag', edges: [{ from: ids.editor, to: ids.critic }], entry_agent_id: ids.critic },
      });
      assert.equal(toDag.status, 200, toDag.text);
      assert.equal(toDag.body.kind, 'dag');
      assert.equal(toDag.body.entry_agent_id, ids.critic);
      assert.equal(toDag.body.version, 4);
      const rows = await journalFor(s, spec.id);
      assert.deepEqual(
        rows.map((r) => r.action),
        ['multi_agent.create', 'multi_agent.update', 'multi_agent.update', 'multi_agent.update'],
      );
    });

    it('deletes: then 404 on get, patch and delete, gone from the list', async () => {
      const { body: spec } = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'doomed', kind: 'swarm', members: [ids.planner] },
      });
      assert.equal((await s.request('DELETE', `/v1/multi-agents/${spec.id}`)).status, 204);
      assert.equal((await s.request('GET', `/v1/multi-agents/${spec.id}`)).status, 404);
      assert.equal(
        (await s.request('PATCH', `/v1/multi-agents/${spec.id}`, { body: { description: 'x' } })).status,
        404,
      );
      assert.equal((await s.request('DELETE', `/v1/multi-agents/${spec.id}`)).status, 404);
      const list = await s.request('GET', '/v1/multi-agents?limit=500');
      assert.ok(!list.body.data.some((m: { id: string }) => m.id === spec.id));
      assert.equal((await journalFor(s, spec.id)).at(-1)?.action, 'multi_agent.delete');
    });

    it('paginates, newest first, with the total', async () => {
      const other = await createTenant(s, 'pager');
      const { body: agent } = await s.request('POST', '/v1/agents', {
        key: other.adminKey,
        body: { name: 'solo' },
      });
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await s.request('POST', '/v1/multi-agents', {
          key: other.adminKey,
          body: { name: `page-${i}`, kind: 'swarm', members: [agent.id] },
        });
        made.push(res.body.id);
      }
      const first = await s.request('GET', '/v1/multi-agents?limit=2', { key: other.adminKey });
      assert.equal(first.status, 200);
      assert.equal(first.body.total, 5);
      assert.equal(first.body.limit, 2);
      const second = await s.request('GET', '/v1/multi-agents?limit=2&offset=2', { key: other.adminKey });
      const third = await s.request('GET', '/v1/multi-agents?limit=2&offset=4', { key: other.adminKey });
      const seen = [...first.body.data, ...second.body.data, ...third.body.data].map(
        (m: { id: string }) => m.id,
      );
      assert.deepEqual(seen, [...made].reverse());
      const beyond = await s.request('GET', '/v1/multi-agents?offset=50', { key: other.adminKey });
      assert.deepEqual(beyond.body.data, []);
      assert.equal(beyond.body.total, 5);
      for (const q of ['limit=0', 'limit=501', 'offset=-1', 'limit=abc', 'sort=name']) {
        assert.equal((await s.request('GET', `/v1/multi-agents?${q}`)).status, 400, q);
      }
    });
  });
}
