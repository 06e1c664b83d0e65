import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tsLoaderArgs } from '../helpers/server.ts';

const run = promisify(execFile);

/** The module hooks `agentry` runs its sources with (bin/ts-loader.js), in a process of their own. */
describe('the TypeScript loader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentry-loader-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const module = path.join(dir, 'thrower.ts');
  writeFileSync(
    module,
    [
      'interface Shape { sides: number }',
      'export const square: Shape = { sides: 4 };',
      '',
      'export function fail(): never {',
      "  throw new Error('from line 5');",
      '}',
      '',
    ].join('\n'),
  );

  const evaluate = async (code: string) =>
    (await run(process.execPath, [...tsLoaderArgs, '--input-type=module', '-e', code])).stdout.trim();

  it('strips the types and maps a stack trace to the .ts line', async () => {
    const out = await evaluate(
      `const m = await import(${JSON.stringify(module)});
       try { m.fail(); } catch (e) { console.log(m.square.sides, e.stack.split('\\n')[1].trim()); }`,
    );
    assert.equal(out, `4 at Module.fail (${module}:5:9)`);
  });

  it('loads a .ts module imported with a query, as a re-import for a fresh copy does', async () => {
    const url = new URL(`file://${module}?v=2`).href;
    assert.equal(await evaluate(`console.log((await import(${JSON.stringify(url)})).square.sides)`), '4');
  });
});
