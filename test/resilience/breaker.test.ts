import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../src/resilience/breaker.ts';

/** A breaker on a hand-driven clock: the test moves time, nothing sleeps. */
function breakerAt(start = 1_000) {
  const clock = { t: start };
  const breaker = new CircuitBreaker('ep', { failure_threshold: 3, reset_ms: 500 }, () => clock.t);
  const open = () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(breaker.acquire(), true);
      breaker.failure();
    }
    assert.equal(breaker.state, 'open');
  };
  return { clock, breaker, open };
}

describe('circuit breaker recovery', () => {
  it('stays open and refuses calls until reset_ms has passed', () => {
    const { clock, breaker, open } = breakerAt();
    open();
    assert.equal(breaker.acquire(), false);
    assert.equal(breaker.retryInMs(), 500);
    clock.t += 499;
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.acquire(), false);
    assert.equal(breaker.retryInMs(), 1);
    clock.t += 1;
    assert.equal(breaker.state, 'half_open');
  });

  it('lets exactly one probe through when half-open, and its success closes the breaker', () => {
    const { clock, breaker, open } = breakerAt();
    open();
    clock.t += 500;
    assert.equal(breaker.acquire(), true, 'the probe passes');
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.acquire(), false, 'a second call waits while the probe is out');
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.retryInMs(), 0);
    assert.equal(breaker.acquire(), true);
    assert.equal(breaker.acquire(), true, 'closed lets every call through');
    // The failure count started over: two failures are below the threshold of three.
    breaker.failure();
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'open');
  });

  it('reopens for another reset_ms when the half-open probe fails', () => {
    const { clock, breaker, open } = breakerAt();
    open();
    clock.t += 600;
    assert.equal(breaker.acquire(), true);
    breaker.failure();
    assert.equal(breaker.state, 'open', 'a single probe failure reopens it');
    assert.equal(breaker.acquire(), false);
    assert.equal(breaker.retryInMs(), 500, 'the reset period counts from the probe failure');
    clock.t += 499;
    assert.equal(breaker.acquire(), false);
    clock.t += 1;
    assert.equal(breaker.acquire(), true, 'a new probe after another reset_ms');
    breaker.success();
    assert.equal(breaker.state, 'closed');
  });

  it('frees the probe slot when the probe ends without a verdict', () => {
    const { clock, breaker, open } = breakerAt();
    open();
    clock.t += 500;
    assert.equal(breaker.acquire(), true);
    breaker.release();
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.acquire(), true, 'another probe may go');
    assert.equal(breaker.acquire(), false);
  });
});
