/**
 * The coordination settings (v2, liveness on the LAN): the defaults, the
 * bounds derived from them, and each validation rule with a setting that
 * breaks it and one that just keeps it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_COORDINATION,
  dualAnswerBoundMs,
  failoverBoundMs,
  validateCoordinationSettings,
  type CoordinationSettings,
} from '../../../../src/core/l2/coordination-settings.js';

const D = DEFAULT_COORDINATION;
const errorsOf = (over: Partial<CoordinationSettings>): string[] => validateCoordinationSettings({ ...D, ...over });

describe('coordination settings', () => {
  it('the defaults are valid', () => {
    assert.deepEqual(validateCoordinationSettings(D), []);
  });

  it('failover bound: the formula (silence, an idle tick, the helper probe, a busy tick, the suspect\'s last probe, a busy tick, two API latencies), within 500 ms at 10 ms API latency', () => {
    const latency = 10;
    // Last hello just before the crash; the monitor's idle tick (a hello interval) notices the silence; from then on ticks
    // come every half interval: the helper's probe times out at its next tick; once the majority answers the suspect has
    // one more probe timeout; the claim is one compare-and-swap.
    const tick = D.helloIntervalMs / 2;
    const expected = D.suspectAfterMs + D.helloIntervalMs + D.probeTimeoutMs + tick + D.probeTimeoutMs + tick + 2 * latency;
    assert.equal(failoverBoundMs(D, latency), expected);
    assert.ok(expected <= 500, `bound ${expected} ms`);
    // Each term counts: a longer suspect-after or API latency lengthens the bound by as much.
    assert.equal(failoverBoundMs({ ...D, suspectAfterMs: D.suspectAfterMs + 100 }, latency), expected + 100);
    assert.equal(failoverBoundMs(D, latency + 5), expected + 10);
  });

  it('dual-answer bound: every burst round after the first', () => {
    assert.equal(dualAnswerBoundMs(D), (D.burstRounds - 1) * D.burstIntervalMs);
    assert.equal(dualAnswerBoundMs({ ...D, burstRounds: 1 }), 0);
  });

  const timings: Array<[keyof CoordinationSettings, string]> = [
    ['helloIntervalMs', 'hello interval'],
    ['suspectAfterMs', 'suspect-after'],
    ['probeTimeoutMs', 'probe timeout'],
    ['confirmTimeoutMs', 'confirm timeout'],
    ['clearAfterMs', 'clear-after'],
    ['lanVerdictMs', 'LAN verdict lifetime'],
  ];
  for (const [field, name] of timings) {
    it(`rejects a ${name} that is zero, negative, NaN or infinite`, () => {
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        const errs = errorsOf({ [field]: bad });
        assert.equal(errs.length, 1, `${field} = ${bad}: ${errs.join('; ')}`);
        assert.match(errs[0] ?? '', new RegExp(`^${name} must be a positive number of milliseconds \\(got ${String(bad)}\\)`));
      }
    });
  }

  it('reports every bad timing at once, and skips the relations between them until those are all valid', () => {
    const errs = errorsOf({ helloIntervalMs: 0, probeTimeoutMs: -5 });
    assert.equal(errs.length, 2);
    assert.match(errs[0] ?? '', /^hello interval must be a positive/);
    assert.match(errs[1] ?? '', /^probe timeout must be a positive/);
  });

  it('suspect-after must be at least three hello intervals', () => {
    const errs = errorsOf({ helloIntervalMs: 50, suspectAfterMs: 149 });
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? '', /^suspect-after \(149 ms\) must be at least three hello intervals \(50 ms\)/);
    assert.match(errs[0] ?? '', /two lost hellos make a healthy node a suspect/);
    assert.deepEqual(errorsOf({ helloIntervalMs: 50, suspectAfterMs: 150 }), []);
  });

  it('the confirm timeout must be at least the probe timeout plus a hello interval', () => {
    const errs = errorsOf({ helloIntervalMs: 50, probeTimeoutMs: 60, confirmTimeoutMs: 109 });
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? '', /^confirm timeout \(109 ms\) must be at least the probe timeout plus a hello interval \(110 ms\)/);
    assert.match(errs[0] ?? '', /helpers answer after the suspecting node has stopped listening/);
    assert.deepEqual(errorsOf({ helloIntervalMs: 50, probeTimeoutMs: 60, confirmTimeoutMs: 110 }), []);
  });

  it('burst rounds must be a whole number ≥ 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const errs = errorsOf({ burstRounds: bad });
      assert.equal(errs.length, 1, `burstRounds = ${bad}`);
      assert.match(errs[0] ?? '', new RegExp(`^burst rounds must be a whole number ≥ 1 \\(got ${String(bad)}\\)`));
    }
    assert.deepEqual(errorsOf({ burstRounds: 1 }), []);
    assert.deepEqual(errorsOf({ burstRounds: 5 }), []);
  });

  it('the burst interval must be ≥ 0 ms', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const errs = errorsOf({ burstIntervalMs: bad });
      assert.equal(errs.length, 1, `burstIntervalMs = ${bad}`);
      assert.match(errs[0] ?? '', new RegExp(`^burst interval must be ≥ 0 ms \\(got ${String(bad)}\\)`));
    }
    assert.deepEqual(errorsOf({ burstIntervalMs: 1 }), []);
  });

  it('the burst interval must be > 0 ms when more than one round is sent', () => {
    const errs = errorsOf({ burstRounds: 2, burstIntervalMs: 0 });
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? '', /^burst interval must be > 0 ms when more than one round is sent.*lost together/);
    assert.deepEqual(errorsOf({ burstRounds: 1, burstIntervalMs: 0 }), []);
  });
});
