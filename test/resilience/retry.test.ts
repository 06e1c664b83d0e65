import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, fullJitter, parseRetryAfter } from '../../src/resilience/retry.ts';

describe('full-jitter backoff', () => {
  it('stays within [0, min(cap, base * 2^step)]', () => {
    const top = () => 1;
    assert.equal(fullJitter(0, 2000, 300_000, top), 2000);
    assert.equal(fullJitter(3, 2000, 300_000, top), 16_000);
    assert.equal(fullJitter(19, 2000, 300_000, top), 300_000);
    assert.equal(
      fullJitter(2, 2000, 300_000, () => 0),
      0,
    );
    assert.equal(
      fullJitter(2, 2000, 300_000, () => 0.5),
      4000,
    );
  });

  it('waits what Retry-After asks, or gives up when that is longer than the longest wait', () => {
    const options = { max: 3, base_ms: 100, max_ms: 5000 };
    assert.equal(backoffMs(0, options, 2), 2000);
    assert.equal(backoffMs(0, options, 6), undefined);
    assert.equal(
      backoffMs(1, options, undefined, () => 1),
      200,
    );
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
