import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addUsage, zeroUsage } from '../../src/models/usage-details.ts';

describe('usage sums', () => {
  it('adds token counts from zero, leaving the details of either out', () => {
    const call = {
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
    };
    const twice = addUsage(addUsage(zeroUsage(), call), call);
    assert.deepEqual(twice, { prompt_tokens: 24, completion_tokens: 10, total_tokens: 34 });
    assert.deepEqual(zeroUsage(), { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    assert.notEqual(zeroUsage(), zeroUsage(), 'a fresh object each time');
  });
});
