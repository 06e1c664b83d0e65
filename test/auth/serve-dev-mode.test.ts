import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testConfig } from '../../src/config/config.ts';
import { AppError } from '../../src/errors.ts';
import { serve } from '../../src/server.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';

describe('serve() and dev auth mode', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentry-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.com']) {
    it(`refuses dev mode bound to ${host}, before touching the store`, async () => {
      const dataDir = path.join(dir, `data-${host.replace(/\W/g, '_')}`);
      const config = testConfig({
        log_level: 'silent',
        server: { host, port: 0 },
        store: { data_dir: dataDir },
        credentials_file: path.join(dir, 'credentials.json'),
        auth: { mode: 'dev' },
      });
      await assert.rejects(
        serve(config, () => {}),
        (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'config_error');
          assert.match(err.message, /dev/);
          assert.match(err.message, new RegExp(host.replace(/[.:]/g, '\\$&')));
          return true;
        },
      );
      assert.ok(!existsSync(dataDir), 'no store was opened');
    });
  }

  it('refuses auth.loopback_key on a non-loopback address, before touching the store', async () => {
    const dataDir = path.join(dir, 'data-loopback-key');
    const config = testConfig({
      log_level: 'silent',
      server: { host: '0.0.0.0', port: 0 },
      store: { data_dir: dataDir },
      credentials_file: path.join(dir, 'credentials.json'),
      auth: { loopback_key: 'agk_0000000000_0000000000000000' },
    });
    await assert.rejects(
      serve(config, () => {}),
      /loopback_key/,
    );
    assert.ok(!existsSync(dataDir), 'no store was opened');
  });

  it('starts in dev mode on loopback and trusts X-User-Id there', async () => {
    const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
    const signalsBefore = new Set(signals.flatMap((signal) => process.listeners(signal)));
    const lines: string[] = [];
    const config = testConfig({
      log_level: 'silent',
      server: { host: '127.0.0.1', port: 0 },
      store: memoryStore(),
      credentials_file: path.join(dir, 'loopback-credentials.json'),
      auth: { mode: 'dev' },
    });
    const app = await serve(config, (l) => lines.push(l));
    try {
      const address = app.http.server.address();
      assert.ok(address && typeof address === 'object');
      const res = await fetch(`http://127.0.0.1:${address.port}/v1/agents`, {
        headers: { 'x-user-id': 'carol' },
      });
      assert.equal(res.status, 200);
      assert.ok(lines.some((l) => l.includes('listening')));
    } finally {
      await app.close();
      // serve() installs signal handlers for a real process; this test process keeps its own.
      for (const signal of signals) {
        for (const l of process.listeners(signal)) if (!signalsBefore.has(l)) process.off(signal, l);
      }
    }
  });
});
