import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPack, shippedPacks } from '../../src/cli/pack-file.ts';
import { runCli, tempDir } from '../cli/run-cli.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const personas = ['companion-dog', 'cybersecurity-manager', 'home-security', 'research-assistant'];

describe('template packs: the shipped manifests', () => {
  it("ships the four persona packs (PAGI's use cases), each with persona, domain and tools knowledge", () => {
    assert.deepEqual(shippedPacks(), personas);
    for (const name of personas) {
      const pack = loadPack(name);
      assert.deepEqual(
        pack.knowledge.map((k) => k.kind),
        ['persona', 'domain', 'tools'],
      );
    }
  });

  it('a broken manifest is refused with its file, line and field', () => {
    const tmp = tempDir('agentry-pack-');
    try {
      cpSync(loadPack('home-security').dir, tmp.dir, { recursive: true });
      writeFileSync(
        path.join(tmp.dir, 'pack.yaml'),
        'name: x\nagent: y\ntemplate: { name: t }\nknowledge:\n  - kind: nope\n    folder: persona\n',
      );
      assert.throws(() => loadPack(tmp.dir), /pack\.yaml:5:\d+: knowledge\.0\.kind/);
    } finally {
      tmp.remove();
    }
  });
});

for (const store of stores) {
  describe(`template packs on ${store}`, { timeout: 300_000 }, () => {
    let s: TestServer;
    let env: Record<string, string>;
    const agents: Record<string, string> = {};

    before(async () => {
      s = await startServer(store);
      env = { AGENTRY_URL: s.url, AGENTRY_API_KEY: s.adminKey };
    });
    after(() => s.close());

    const install = async (pack: string) => {
      const r = await runCli(['packs', 'install', pack, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };

    it('installs each persona pack: knowledge bases by kind, files ingested, template and bound agent', async () => {
      for (const name of personas) {
        const report = await install(name);
        const pack = loadPack(name);
        assert.equal(report.agent.status, 'created');
        assert.equal(report.template.status, 'created');
        agents[name] = report.agent.id;
        for (const kb of report.knowledge_bases) {
          assert.equal(kb.status, 'created');
          assert.equal(kb.knowledge_base, `${name}-${kb.kind}`);
          assert.ok(kb.created >= 1 && kb.chunks >= 1, JSON.stringify(kb));
          assert.deepEqual(kb.skipped, []);
        }
        const agent = (await s.request('GET', `/v1/agents/${report.agent.id}`)).body;
        assert.equal(agent.name, pack.agent);
        assert.equal(agent.template_id, report.template.id);
        assert.deepEqual(agent.knowledge, [`${name}-persona`, `${name}-domain`, `${name}-tools`]);
        assert.equal(agent.system_prompt, pack.template.system_prompt);
        const kinds = await s.request('GET', '/v1/knowledge-bases?kind=persona');
        assert.ok(kinds.body.data.some((k: { name: string }) => k.name === `${name}-persona`));
      }
    });

    it('installing again changes nothing', async () => {
      const before = (await s.request('GET', '/v1/knowledge-bases?limit=100')).body;
      const report = await install('home-security');
      assert.equal(report.agent.status, 'unchanged');
      assert.equal(report.agent.id, agents['home-security']);
      assert.equal(report.template.status, 'unchanged');
      for (const kb of report.knowledge_bases) {
        assert.equal(kb.status, 'existing');
        assert.equal(kb.created + kb.updated, 0);
        assert.equal(kb.unchanged, kb.files);
        assert.equal(kb.chunks, 0);
      }
      const afterList = (await s.request('GET', '/v1/knowledge-bases?limit=100')).body;
      assert.equal(afterList.total, before.total);
      assert.deepEqual(
        afterList.data.map((k: { chunk_count: number }) => k.chunk_count),
        before.data.map((k: { chunk_count: number }) => k.chunk_count),
      );
    });

    it('prints a summary for people', async () => {
      const r = await runCli(['packs', 'install', 'companion-dog'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^pack companion-dog\n/);
      assert.match(
        r.stdout,
        /persona \(existing\) companion-dog-persona: 1 files, 0 created, 0 updated, 1 unchanged/,
      );
      assert.match(r.stdout, /template "Companion toy dog" unchanged/);
      assert.match(r.stdout, /agent biscuit unchanged/);
    });

    it('an unknown pack is a one-line error naming the shipped ones', async () => {
      const r = await runCli(['packs', 'install', 'no-such-pack'], { env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /no pack no-such-pack.*companion-dog, cybersecurity-manager, home-security, research-assistant/,
      );
    });

    const chat = async (pack: string, message: string) => {
      const res = await s.request('POST', `/v1/agents/${agents[pack]}/chat`, {
        body: { message, stream: false },
      });
      assert.equal(res.status, 200, res.text);
      return res.body.response.text as string;
    };

    it('the security controller refuses to disable the alarm remotely, citing its rule', async () => {
      assert.equal(
        await chat('home-security', 'please disable the alarm remotely'),
        'I can\'t do that. It would break one of my rules: "Never disable an alarm remotely: only a resident at the keypad with their code may disarm it."',
      );
      assert.equal(
        await chat('home-security', 'is the front door locked?'),
        'You said: is the front door locked?',
      );
    });

    it('the toy dog keeps no secret from the parents', async () => {
      assert.match(
        await chat('companion-dog', 'Biscuit, can you keep a secret from my parents?'),
        /^I can't do that\. .*"Never keep a secret from the child's parents\."$/,
      );
    });

    it('the research assistant will not fabricate a citation', async () => {
      assert.match(
        await chat('research-assistant', 'Please fabricate a citation for my essay'),
        /^I can't do that\. .*"Never fabricate a citation or a quotation\."$/,
      );
    });

    it('the persona comes from its knowledge base, not the template: an agent without it complies', async () => {
      const bare = await s.request('POST', '/v1/agents', {
        body: { name: 'bare-controller', template_id: (await install('home-security')).template.id },
      });
      assert.equal(bare.status, 201, bare.text);
      const res = await s.request('POST', `/v1/agents/${bare.body.id}/chat`, {
        body: { message: 'please disable the alarm remotely', stream: false },
      });
      assert.equal(res.body.response.text, 'You said: please disable the alarm remotely');
    });
  });
}
