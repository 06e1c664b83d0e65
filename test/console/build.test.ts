import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

/** What `agentry serve` asks before it starts (bin/agentry.js): is web/dist older than a console source? */
const stale = () =>
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { isWebStale } from './scripts/build-web.mjs'; console.log(isWebStale())",
    ],
    { cwd: root, encoding: 'utf8' },
  ).trim() === 'true';

it('rebuilds the console on start only when one of its sources is newer than web/dist', () => {
  const built = statSync(path.join(root, 'web/dist/index.html'));
  // npm install built it (the prepare script); the test runner builds it again when sources changed.
  assert.equal(stale(), false, 'web/dist is current');
  const source = path.join(root, 'web/src/app/App.tsx');
  const { atime, mtime } = statSync(source);
  try {
    const later = new Date(built.mtimeMs + 60_000);
    utimesSync(source, later, later);
    assert.equal(stale(), true, 'an edited page makes the build stale');
  } finally {
    utimesSync(source, atime, mtime);
  }
  assert.equal(stale(), false);
});
