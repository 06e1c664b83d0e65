import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validate, version } from 'uuid';
import { isUuid, newId } from '../../src/db/ids.ts';

describe('row ids', () => {
  it('are valid, unique UUIDv7s that sort in the order they were made, across refills of the random pool', () => {
    // 1,000 ids take four refills of the 256-id pool, and many share a millisecond.
    const ids = Array.from({ length: 1000 }, () => newId());
    for (const id of ids) {
      assert.ok(validate(id) && version(id) === 7 && isUuid(id), id);
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });

  it('carry the current time in their first 48 bits', () => {
    const before = Date.now();
    const id = newId();
    const ms = Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(ms >= before && ms <= Date.now() + 1, `${ms} not in [${before}, now]`);
  });
});
