import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generateTypes, typesFile } from '../../scripts/gen-api.ts';

it('packages/client/src/openapi.d.ts is the generation of the current OpenAPI document (npm run gen:api)', async () => {
  const fresh = await generateTypes();
  assert.ok(fresh.includes('"/v1/agents"'), 'the document has the native routes');
  assert.equal(readFileSync(typesFile, 'utf8'), fresh, 'stale: run `npm run gen:api` and commit the result');
});
