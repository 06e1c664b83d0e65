import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { guardedLookup, refusedUrl } from '../../src/net/ssrf.ts';
import { verify } from '../../src/tasks/signature.ts';
import { fakeInternet } from '../helpers/internet.ts';
import { stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, startQueueServer, waitForStatus } from './helpers.ts';

interface Received {
  body: string;
  signature: string;
}

/** A webhook receiver on loopback: the one fake here, standing in for a customer's endpoint. */
function receiver(port = 0): Promise<{ server: Server; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ body, signature: String(req.headers['agentry-signature'] ?? '') });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port, got }),
    ),
  );
}

const allowLoopback = tenantsFileSchema.parse({
  tenants: { default: { network: { allow_private_callbacks: true } } },
});

describe('the SSRF guard', () => {
  it('refuses loopback, private, link-local, metadata and odd numeric hosts', () => {
    for (const url of [
      'http://127.0.0.1/x',
      'http://localhost:8080/',
      'http://10.1.2.3/',
      'http://192.168.0.1/',
      'http://172.16.5.5/',
      'http://169.254.169.254/latest/meta-data',
      'http://metadata.google.internal/',
      'http://[::1]/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:127.0.0.1]/',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://user:pw@example.com/',
      'ftp://example.com/',
    ]) {
      assert.ok(refusedUrl(url), `${url} must be refused`);
    }
    assert.equal(refusedUrl('https://hooks.example.com/agentry'), undefined);
    assert.equal(refusedUrl('http://93.184.216.34/x'), undefined);
  });

  it('refuses a name that resolves to a private address at send time', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup(false)('localhost', { family: 0 }, (e) => resolve(e)),
    );
    assert.equal(err?.code, 'EREFUSEDADDRESS');
    const ok = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup(true)('localhost', { family: 0 }, (e) => resolve(e)),
    );
    assert.equal(ok, null);
  });
});

for (const store of stores) {
  describe(`callbacks on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string };

    before(async () => {
      s = await startQueueServer(store, {}, { network: fakeInternet({ 'sneaky.test': '127.0.0.1' }) });
      agent = await createAgent(s, 'hooked');
      s.app.services.taskHandlers.register({ agentId: agent.id }, async (task) => ({
        result: { echoed: task.payload },
        summary: 'ok',
      }));
    });
    after(() => s.close());

    const create = (callback_url: string, extra: Record<string, unknown> = {}) =>
      s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'cb',
          payload: { text: 'hi' },
          callback_url,
          ...extra,
        },
      });

    it('refuses private callback URLs at creation unless the tenant policy allows them', async () => {
      s.app.services.policies.set({ tenants: {} });
      for (const url of ['http://127.0.0.1:9/x', 'http://169.254.169.254/', 'http://localhost/']) {
        const res = await create(url);
        assert.equal(res.status, 400, url);
        assert.equal(res.body.error.details[0].path, 'callback_url');
      }
      const list = await s.request('GET', '/v1/tasks');
      assert.equal(list.body.total, 0, 'nothing created');
    });

    it('POSTs the terminal task, signed with the tenant secret, and records the delivery', async () => {
      s.app.services.policies.set(allowLoopback);
      const hook = await receiver();
      try {
        const res = await create(`http://127.0.0.1:${hook.port}/hook`);
        assert.equal(res.status, 202, res.text);
        const task = await eventually(async () => {
          const t = await s.request('GET', `/v1/tasks/${res.body.id}`);
          return t.body.callback_status === '204' ? t.body : undefined;
        });
        assert.equal(task.callback_attempts, 1);
        assert.equal(hook.got.length, 1);
        const { secret } = (await s.request('GET', '/v1/tasks/callback-secret')).body;
        assert.match(secret, /^whsec_/);
        assert.ok(verify(secret, hook.got[0]!.body, hook.got[0]!.signature), 'signature verifies');
        assert.ok(!verify(`${secret}x`, hook.got[0]!.body, hook.got[0]!.signature));
        const sent = JSON.parse(hook.got[0]!.body);
        assert.equal(sent.id, res.body.id);
        assert.equal(sent.status, 'completed');
        assert.deepEqual(sent.result, { echoed: { text: 'hi' } });
        const deliveries = await s.request('GET', `/v1/tasks/${res.body.id}/callbacks`);
        assert.equal(deliveries.status, 200, deliveries.text);
        assert.equal(deliveries.body.data.length, 1);
        const [d] = deliveries.body.data;
        assert.equal(d.url, `http://127.0.0.1:${hook.port}/hook`);
        assert.equal(d.last_status, '204');
        assert.equal(d.attempts, 1);
        assert.ok(d.delivered_at && d.given_up_at === null);
      } finally {
        hook.server.close();
      }
    });

    it('keeps retrying while the receiver is down and delivers once it is back', async () => {
      s.app.services.policies.set(allowLoopback);
      // Reserve a free port, then close it: connections are refused until the receiver comes up.
      const probe = await receiver();
      const port = probe.port;
      await new Promise((r) => probe.server.close(r));
      const res = await create(`http://127.0.0.1:${port}/later`);
      await waitForStatus(s, res.body.id, ['completed']);
      await eventually(async () => {
        const t = await s.request('GET', `/v1/tasks/${res.body.id}`);
        return t.body.callback_attempts >= 2 ? true : undefined;
      });
      const down = await s.request('GET', `/v1/tasks/${res.body.id}`);
      assert.match(down.body.callback_status, /^error/);
      const hook = await receiver(port);
      try {
        await eventually(async () => (hook.got.length > 0 ? true : undefined), 30_000, 'the callback');
        const t = await eventually(async () => {
          const r = await s.request('GET', `/v1/tasks/${res.body.id}`);
          return r.body.callback_status === '204' ? r.body : undefined;
        });
        assert.ok(t.callback_attempts >= 2);
        // The status is recorded with the outbox row's delivery, in one statement: the row is done and
        // no sender picks it up again.
        const [row] = await s.app.db.query<{ delivered: boolean }>(
          'select delivered_at is not null as delivered from callback_outbox where task_id = $1',
          [res.body.id],
        );
        assert.equal(row?.delivered, true);
        assert.equal(hook.got.length, 1, 'delivered once');
      } finally {
        hook.server.close();
      }
    });

    it('checks again at send time: a policy withdrawn after creation stops the callback', async () => {
      s.app.services.policies.set(allowLoopback);
      const hook = await receiver();
      try {
        const res = await create(`http://127.0.0.1:${hook.port}/x`, { delay_seconds: 0.5 });
        assert.equal(res.status, 202);
        s.app.services.policies.set({ tenants: {} });
        const t = await eventually(async () => {
          const r = await s.request('GET', `/v1/tasks/${res.body.id}`);
          return r.body.callback_status?.startsWith('refused') ? r.body : undefined;
        });
        assert.equal(t.callback_attempts, 1, 'given up at once, not retried');
        assert.equal(hook.got.length, 0);
      } finally {
        hook.server.close();
      }
    });

    it('refuses loopback spellings at creation and a name that resolves to loopback at send time', async () => {
      const hook = await receiver();
      try {
        for (const host of ['LOCALHOST.', '127.1', '[::ffff:127.0.0.1]', '[::127.0.0.1]']) {
          const bad = await create(`http://${host}:${hook.port}/x`);
          assert.equal(bad.status, 400, `${host}: ${bad.text}`);
          assert.match(bad.body.error.message, /callback_url refused/);
        }
        const res = await create(`http://sneaky.test:${hook.port}/x`);
        assert.equal(res.status, 202, res.text);
        const t = await eventually(async () => {
          const r = await s.request('GET', `/v1/tasks/${res.body.id}`);
          return r.body.callback_status?.startsWith('refused') ? r.body : undefined;
        });
        assert.match(t.callback_status, /sneaky\.test resolves to non-public 127\.0\.0\.1/);
        assert.equal(t.callback_attempts, 1, 'given up at once, not retried');
        assert.equal(hook.got.length, 0);
      } finally {
        hook.server.close();
      }
    });

    it('rotates the secret (admins only)', async () => {
      const before = (await s.request('GET', '/v1/tasks/callback-secret')).body.secret;
      const rotated = await s.request('POST', '/v1/tasks/callback-secret/rotate');
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body.secret, before);
      const key = await s.request('POST', '/v1/keys', { body: { name: 'reader', scopes: ['read'] } });
      const asReader = await s.request('GET', '/v1/tasks/callback-secret', { key: key.body.secret });
      assert.equal(asReader.status, 403);
    });
  });
}
