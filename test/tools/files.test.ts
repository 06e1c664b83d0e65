import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerBuiltinTools } from '../../src/tools/builtins/registry.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { Workspace } from '../../src/tools/workspace.ts';

/**
 * The file tools on a real directory: they work inside the session's workspace and refuse every way
 * out — absolute paths, `..`, symlinks (to files, to directories, dangling), and glob patterns.
 */
describe('file tools confined to the workspace', () => {
  let base: string;
  let root: string;
  let outside: string;
  const registry = registerBuiltinTools(new ToolRegistry({ defaultTimeoutMs: 5000 }));
  const run = (name: string, args: unknown) =>
    registry.execute(name, JSON.stringify(args), {
      signal: new AbortController().signal,
      tenantId: 't',
      sessionId: 's',
      runId: 'r',
      idempotencyKey: 'run:r:0.0',
      workspace: new Workspace(root),
    });
  const errorOf = async (name: string, args: unknown) => {
    const out = await run(name, args);
    assert.equal(out.ok, false, `${name} ${JSON.stringify(args)} should be refused`);
    return (out as { error: string }).error;
  };

  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'agentry-files-'));
    root = path.join(base, 'ws', 'tenant', 'session');
    outside = path.join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'secret.txt'), 'top secret');
    mkdirSync(root, { recursive: true });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-to-secret'));
    symlinkSync(outside, path.join(root, 'link-to-dir'));
    symlinkSync(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling'));
    mkdirSync(path.join(root, 'inner'));
    writeFileSync(path.join(root, 'inner', 'ok.txt'), 'fine');
    symlinkSync(path.join(root, 'inner', 'ok.txt'), path.join(root, 'link-inside'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('writes, reads, edits and globs inside the workspace', async () => {
    assert.deepEqual(await run('write_file', { path: 'notes/today.md', content: 'a $& b\n' }), {
      ok: true,
      output: { path: 'notes/today.md', bytes: 7 },
    });
    assert.deepEqual(await run('read_file', { path: 'notes/today.md' }), { ok: true, output: 'a $& b\n' });
    assert.deepEqual(await run('edit_file', { path: 'notes/today.md', old_text: 'b', new_text: '$1 c' }), {
      ok: true,
      output: { path: 'notes/today.md', replacements: 1 },
    });
    assert.equal(readFileSync(path.join(root, 'notes', 'today.md'), 'utf8'), 'a $& $1 c\n');
    assert.match(
      await errorOf('edit_file', { path: 'notes/today.md', old_text: 'zzz', new_text: 'y' }),
      /not found/,
    );
    await run('write_file', { path: 'twice.txt', content: 'x x' });
    assert.match(
      await errorOf('edit_file', { path: 'twice.txt', old_text: 'x', new_text: 'y' }),
      /occurs 2 times/,
    );
    assert.deepEqual(
      await run('edit_file', { path: 'twice.txt', old_text: 'x', new_text: 'y', replace_all: true }),
      {
        ok: true,
        output: { path: 'twice.txt', replacements: 2 },
      },
    );
    const globbed = await run('glob_files', { pattern: '**/*.{md,txt}' });
    assert.deepEqual(globbed, {
      ok: true,
      output: { files: ['inner/ok.txt', 'notes/today.md', 'twice.txt'], truncated: false },
    });
    // A symlink that stays inside is fine.
    assert.deepEqual(await run('read_file', { path: 'link-inside' }), { ok: true, output: 'fine' });
    assert.match(await errorOf('read_file', { path: 'missing.txt' }), /^no such file: missing.txt$/);
  });

  it('refuses absolute paths', async () => {
    for (const [tool, extra] of [
      ['read_file', {}],
      ['write_file', { content: 'x' }],
    ] as const) {
      const err = await errorOf(tool, { path: path.join(outside, 'secret.txt'), ...extra });
      // The message names the path as given, nothing of the workspace's own location.
      assert.equal(
        err,
        `absolute paths are not allowed; give a path relative to the workspace: ${path.join(outside, 'secret.txt')}`,
      );
    }
    assert.match(await errorOf('read_file', { path: '/etc/passwd' }), /absolute paths are not allowed/);
  });

  it('refuses ".." anywhere in a path, even when it would land inside', async () => {
    assert.match(
      await errorOf('read_file', { path: '../../../outside/secret.txt' }),
      /"\.\." is not allowed/,
    );
    assert.match(
      await errorOf('write_file', { path: 'inner/../../escape.txt', content: 'x' }),
      /"\.\." is not allowed/,
    );
    assert.match(await errorOf('read_file', { path: 'inner/../inner/ok.txt' }), /"\.\." is not allowed/);
    assert.match(await errorOf('glob_files', { pattern: '../**' }), /without "\.\."/);
    assert.match(await errorOf('glob_files', { pattern: '/etc/*' }), /relative to the workspace/);
  });

  it('refuses symlinks that lead out: to a file, through a directory, and dangling ones', async () => {
    assert.match(
      await errorOf('read_file', { path: 'link-to-secret' }),
      /escapes the workspace through a symlink/,
    );
    assert.match(
      await errorOf('read_file', { path: 'link-to-dir/secret.txt' }),
      /escapes the workspace through a symlink/,
    );
    assert.match(
      await errorOf('write_file', { path: 'link-to-dir/planted.txt', content: 'x' }),
      /escapes the workspace through a symlink/,
    );
    assert.match(
      await errorOf('write_file', { path: 'link-to-dir/deeper/planted.txt', content: 'x' }),
      /escapes the workspace through a symlink/,
    );
    assert.match(
      await errorOf('edit_file', { path: 'link-to-secret', old_text: 'top', new_text: 'no' }),
      /escapes the workspace/,
    );
    assert.match(
      await errorOf('write_file', { path: 'dangling', content: 'x' }),
      /symlink that leads outside/,
    );
    assert.equal(
      existsSync(path.join(outside, 'not-yet.txt')),
      false,
      'nothing was created through the dangling link',
    );
    assert.equal(existsSync(path.join(outside, 'planted.txt')), false);
    assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'top secret');
    // Globbing lists the links but never walks through them.
    const globbed = await run('glob_files', { pattern: '**/*' });
    const files = (globbed as { output: { files: string[] } }).output.files;
    assert.ok(!files.some((f) => f.startsWith('link-to-dir/')), files.join(','));
  });
});
