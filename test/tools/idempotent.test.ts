import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Which built-in tools a takeover may run again (docs/durability.md): a call in flight when its
 * process died is repeated only for a tool flagged idempotent. The read-only built-ins are; every
 * tool that writes, executes code or acts elsewhere is not. Read from the registry a real server
 * builds, so a built-in added later without a decision here fails this test.
 */
const READ_ONLY = [
  'calculator',
  'current_time',
  'read_file',
  'glob_files',
  'web_search',
  'web_crawl',
  'read_journal',
  'system_health',
  'recent_tasks',
];
const NOT_IDEMPOTENT = ['write_file', 'edit_file', 'bash_execute', 'run_javascript'];

describe('built-in tools: idempotent flags', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite');
  });
  after(async () => s?.close());

  it('flags the read-only built-ins idempotent and no other built-in', () => {
    const registry = s.app.services.tools;
    const names = registry.names().sort();
    assert.deepEqual(names, [...READ_ONLY, ...NOT_IDEMPOTENT].sort(), 'every built-in is decided here');
    for (const name of READ_ONLY) assert.equal(registry.get(name)?.idempotent, true, `${name} is read-only`);
    for (const name of NOT_IDEMPOTENT) {
      assert.notEqual(
        registry.get(name)?.idempotent,
        true,
        `${name} has effects: not run twice on a takeover`,
      );
    }
  });
});
