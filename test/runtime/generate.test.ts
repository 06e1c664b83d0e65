import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** A loopback port with nothing listening: the "unreachable upstream". */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

for (const store of stores) {
  describe(`POST /v1/agents/generate on ${store}`, () => {
    let s: TestServer;

    before(async () => {
      process.env.AGENTRY_TEST_DEAD_KEY = 'sk-test';
      s = await startServer(store, {
        models: {
          providers: {
            dead: {
              type: 'openai',
              base_url: `http://127.0.0.1:${await closedPort()}/v1`,
              api_key_env: 'AGENTRY_TEST_DEAD_KEY',
            },
          },
        },
      });
    });
    after(async () => {
      await s.close();
    });

    const counts = async () => {
      const [row] = await s.app.db.query<{ agents: number; specs: number }>(
        `select (select count(*)::int from agents) as agents, (select count(*)::int from multi_agent_specs) as specs`,
      );
      return row!;
    };
    const generate = (body: Record<string, unknown>) => s.request('POST', '/v1/agents/generate', { body });

    it('designs one agent from the words with the mock provider: tools from the requirement, source generated', async () => {
      const res = await generate({ requirement: 'Calculate the totals of my expenses each month' });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.generated_by, 'heuristic');
      assert.equal(res.body.multi_agent, null);
      const [agent] = res.body.agents;
      assert.match(agent.name, /^analyst-[0-9a-f]{6}$/);
      assert.equal(agent.source, 'generated');
      assert.deepEqual(agent.tools, ['calculator']);
      assert.match(agent.system_prompt, /Calculate the totals/);
      const stored = await s.request('GET', `/v1/agents/${agent.id}`);
      assert.equal(stored.status, 200);
      // Deterministic: the same requirement designs the same agent (under a new unique name).
      const again = await generate({ requirement: 'Calculate the totals of my expenses each month' });
      assert.equal(again.status, 201, again.text);
      assert.deepEqual(again.body.agents[0].tools, agent.tools);
      assert.notEqual(again.body.agents[0].name, agent.name);
    });

    it('designs a swarm team from several roles, and a DAG when the wording has stages', async () => {
      const swarm = await generate({
        requirement: 'A customer support desk that can research answers and review replies',
      });
      assert.equal(swarm.status, 201, swarm.text);
      const spec = swarm.body.multi_agent;
      assert.equal(spec.kind, 'swarm');
      const roles = swarm.body.agents.map((a: { name: string }) => a.name.replace(/-[0-9a-f]{6}$/, ''));
      assert.deepEqual(roles, ['support', 'researcher', 'reviewer']);
      assert.deepEqual(
        spec.members,
        swarm.body.agents.map((a: { id: string }) => a.id),
      );
      const [support, researcher] = swarm.body.agents;
      assert.ok(support.handoffs.includes(researcher.name), 'handoffs use the created names');
      assert.equal(researcher.template_id, 'researcher');

      const dag = await generate({ requirement: 'Research the market, then write a report, then review it' });
      assert.equal(dag.status, 201, dag.text);
      const [r, w, v] = dag.body.agents;
      assert.equal(dag.body.multi_agent.kind, 'dag');
      assert.equal(dag.body.multi_agent.entry_agent_id, r.id);
      assert.deepEqual(dag.body.multi_agent.edges, [
        { from: r.id, to: w.id },
        { from: w.id, to: v.id },
      ]);
    });

    it('creates what the model proposes when it answers a valid spec', async () => {
      s.app.services.models.mock.script('designer', [
        {
          content: `Here you go:\n\`\`\`json\n${JSON.stringify({
            agents: [
              { name: 'a1', system_prompt: 'first', tools: ['calculator'], handoffs: ['a2'] },
              { name: 'a2', system_prompt: 'second', tools: [], handoffs: ['a1'] },
            ],
            team: { name: 'pair', kind: 'swarm' },
          })}\n\`\`\``,
        },
      ]);
      const res = await generate({ requirement: 'two agents that talk', model: 'mock/designer' });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.generated_by, 'model');
      assert.equal(res.body.agents.length, 2);
      assert.equal(res.body.agents[0].system_prompt, 'first');
      assert.equal(res.body.multi_agent.kind, 'swarm');
    });

    it('answers 502 with the reason and creates nothing when the proposal is invalid', async () => {
      const before = await counts();
      const cases: Array<[string, RegExp]> = [
        ['I would rather not.', /not a JSON object/],
        [
          JSON.stringify({ agents: [{ name: 'x', system_prompt: 'p', tools: ['teleport'] }] }),
          /unknown tools: teleport/,
        ],
        [JSON.stringify({ agents: [{ name: 'bad name!', system_prompt: 'p' }] }), /agents\.0\.name/],
        [
          JSON.stringify({
            agents: [
              { name: 'p', system_prompt: 'p' },
              { name: 'q', system_prompt: 'q' },
            ],
            team: {
              name: 'loop',
              kind: 'dag',
              edges: [
                { from: 'p', to: 'q' },
                { from: 'q', to: 'p' },
              ],
            },
          }),
          /cycle/,
        ],
      ];
      for (const [content, reason] of cases) {
        s.app.services.models.mock.script('designer', [{ content }]);
        const res = await generate({ requirement: 'anything', model: 'mock/designer' });
        assert.equal(res.status, 502, res.text);
        assert.equal(res.body.error.code, 'bad_gateway');
        assert.match(res.body.error.message, /invalid agent spec/);
        assert.match(res.body.error.message, reason);
      }
      assert.deepEqual(await counts(), before);
    });

    it('answers 502 when the model is unreachable, and creates nothing', async () => {
      const before = await counts();
      const res = await generate({ requirement: 'write a poem', model: 'dead/gpt-test' });
      assert.equal(res.status, 502, res.text);
      assert.match(res.body.error.message, /could not propose agents/);
      assert.deepEqual(await counts(), before);
      const bad = await generate({ requirement: 'x' });
      assert.equal(bad.status, 400, bad.text);
    });
  });
}
