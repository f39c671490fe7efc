import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/router/harness.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('CircuitBreaker', () => {
  const make = () => {
    const clock = new ManualClock();
    return { clock, breaker: new CircuitBreaker({ failures: 3, cooldownMs: 1_000 }, clock.now) };
  };

  it('opens after N consecutive failures, and a success in between resets the count', () => {
    const { breaker } = make();
    breaker.record('call', 'failure');
    breaker.record('call', 'failure');
    breaker.record('call', 'success');
    breaker.record('call', 'failure');
    expect(breaker.state).toBe('closed');
    breaker.record('call', 'failure');
    expect(breaker.record('call', 'failure')).toBe('open');
    expect(breaker.state).toBe('open');
    expect(breaker.available).toBe(false);
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('lets exactly one probe through after the cooldown, and closes when it succeeds', () => {
    const { clock, breaker } = make();
    for (let i = 0; i < 3; i++) breaker.record('call', 'failure');
    clock.advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.retryInMs).toBe(1);
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe('probe');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.available).toBe(false);
    expect(breaker.record('probe', 'success')).toBe('closed');
    expect(breaker.tryAcquire()).toBe('call');
    expect(breaker.consecutiveFailures).toBe(0);
  });

  it('re-opens for a new cooldown when the probe fails', () => {
    const { clock, breaker } = make();
    for (let i = 0; i < 3; i++) breaker.record('call', 'failure');
    clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe('probe');
    clock.advance(500);
    expect(breaker.record('probe', 'failure')).toBe('open');
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('frees the probe when it ends neutrally (the caller left), so another can go', () => {
    const { clock, breaker } = make();
    for (let i = 0; i < 3; i++) breaker.record('call', 'failure');
    clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe('probe');
    expect(breaker.record('probe', 'neutral')).toBeUndefined();
    expect(breaker.tryAcquire()).toBe('probe');
  });

  it('ignores late outcomes of calls that started before it opened', () => {
    const { breaker } = make();
    for (let i = 0; i < 3; i++) breaker.record('call', 'failure');
    expect(breaker.record('call', 'success')).toBeUndefined();
    expect(breaker.state).toBe('open');
  });
});
