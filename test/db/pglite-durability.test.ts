import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PgliteDb } from '../../src/db/pglite.ts';
import { tsLoaderArgs } from '../helpers/server.ts';

const writer = path.join(import.meta.dirname, 'fixtures', 'async-commit-writer.ts');

describe('the embedded store and a SIGKILL', () => {
  it('keeps a write committed with ASYNC_COMMIT: PGlite has no WAL writer to flush it later', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-pglite-kill-'));
    const dataDir = path.join(dir, 'data');
    const child = spawn(process.execPath, [...tsLoaderArgs, writer], {
      env: { ...process.env, DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      for await (const chunk of child.stdout) {
        out += chunk;
        if (out.includes('written')) break;
      }
      assert.match(out, /written/);
      child.kill('SIGKILL');
      await once(child, 'exit');
      const db = await PgliteDb.open(dataDir);
      try {
        assert.deepEqual(await db.query('select v from t'), [{ v: 'answered' }]);
      } finally {
        await db.close();
      }
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
