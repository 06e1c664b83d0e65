/**
 * The map for extending the house (docs/architecture.md, "Adding to the house") stays true: each
 * plug-in in a registry has its own file and its line in the docs, every file the map names
 * exists, and migrations are numbered once (silent catches: silent-catches.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { agentEnvs } from '../../src/agents/schema.ts';
import { compatFamilies } from '../../src/config/compat-config.ts';
import { providerTypes } from '../../src/config/models-config.ts';
import { type ProviderPreset, providerPresets } from '../../src/config/provider-presets.ts';
import { doorNames } from '../../src/doors/registry.ts';
import { routes } from '../../src/runtime/routing.ts';
import { builtinTools } from '../../src/tools/builtins/registry.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(root + path, 'utf8');
const architecture = read('docs/architecture.md');

/** The paragraph of architecture.md that holds `marker`. */
function paragraphWith(marker: string): string {
  const found = architecture.split(/\n\s*\n/).find((p) => p.includes(marker));
  assert.ok(found, `docs/architecture.md has a paragraph with ${marker}`);
  return found;
}

/** Every file under `dir` (relative to the checkout), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(root + dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => `${e.parentPath.slice(root.length)}/${e.name}`);
}

describe('adding to the house', () => {
  it('each model provider type has its file and its name in the providers line', () => {
    const line = paragraphWith('providers/registry.ts');
    for (const type of providerTypes) {
      assert.ok(existsSync(`${root}src/models/providers/${type}.ts`), `src/models/providers/${type}.ts`);
      assert.ok(line.includes(`\`${type}\``), `${type} is named in the providers line`);
    }
  });

  it('each front door has its folder, its error body and its name in the front doors paragraph', () => {
    const paragraph = paragraphWith('doors/registry.ts');
    for (const door of doorNames) {
      assert.ok(existsSync(`${root}src/doors/${door}`), `src/doors/${door}/`);
      assert.ok(paragraph.includes(`\`${door}/\``), `${door}/ is named in the front doors paragraph`);
    }
    // Every vendor door renders its errors through the one mapper (wire-errors.ts), never its own.
    for (const door of ['openai', 'anthropic']) {
      assert.match(read(`src/doors/${door}/errors.ts`), /wireErrorHandler\(/, `${door}/errors.ts`);
    }
    // The recipe names the door spec, whose table the compiler holds to `doorNames`.
    assert.match(
      paragraphWith('**A front door**'),
      /its row in the door spec\s+\(`test\/doors\/door-spec\.test\.ts`/,
    );
  });

  it('each provider preset has its row in docs/providers.md, with its base URL and key variable', () => {
    const doc = read('docs/providers.md');
    for (const [name, preset] of Object.entries(providerPresets) as [string, ProviderPreset][]) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      assert.ok(row, `docs/providers.md has a row for ${name}`);
      assert.ok(row.includes(`\`${preset.base_url}\``), `${name}: ${preset.base_url}`);
      assert.ok(row.includes(preset.api_key_env ? `\`${preset.api_key_env}\`` : 'none'), `${name}'s key`);
    }
  });

  it('each compat family has its route file and its row in docs/compat.md', () => {
    const compat = read('docs/compat.md');
    for (const family of compatFamilies) {
      assert.ok(existsSync(`${root}src/http/compat/${family}.ts`), `src/http/compat/${family}.ts`);
      assert.ok(compat.includes(`(\`${family}\`)`), `docs/compat.md has a row for ${family}`);
    }
  });

  it('each built-in tool is named in the built-in list', () => {
    const list = paragraphWith('tools/builtins/registry.ts');
    for (const name of Object.keys(builtinTools)) assert.ok(list.includes(`\`${name}\``), name);
  });

  it('the executor recipe names the registry that holds an entry for every agent env', () => {
    const recipe = paragraphWith('**An executor**');
    assert.match(recipe, /one entry in the registry at\s+`src\/runtime\/routing\.ts`/);
    assert.deepEqual(Object.keys(routes).sort(), [...agentEnvs].sort());
  });

  it('migrations are numbered files, each number once', () => {
    const names = readdirSync(`${root}src/db/migrations`).filter((n) => n.endsWith('.sql'));
    for (const n of names) assert.match(n, /^\d{4}_[a-z0-9_]+\.sql$/);
    const numbers = names.map((n) => n.slice(0, 4));
    assert.equal(new Set(numbers).size, numbers.length, 'no number twice');
  });

  it('every file docs/architecture.md names exists', () => {
    // A named file is a backquoted path with a folder and an extension; the map writes them from the
    // checkout's root, from src/ or web/src/, or from the room its paragraph is about.
    const sources = filesUnder('src');
    const named = [...architecture.matchAll(/`([\w./-]+\/[\w.-]+\.(?:ts|mjs|js|md|sql|json|yaml))`/g)].map(
      (m) => m[1]!,
    );
    assert.ok(named.length > 60, `${named.length} files named`);
    const missing = named.filter(
      (p) =>
        !existsSync(root + p) &&
        !existsSync(`${root}src/${p}`) &&
        !existsSync(`${root}web/src/${p}`) &&
        !sources.some((s) => s.endsWith(`/${p}`)),
    );
    assert.deepEqual(missing, []);
  });
});
