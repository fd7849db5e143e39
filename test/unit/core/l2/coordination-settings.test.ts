import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_COORDINATION,
  dualAnswerBoundMs,
  failoverBoundMs,
  validateCoordinationSettings,
} from '../../../../src/core/l2/coordination-settings.js';

describe('coordination settings', () => {
  it('defaults are valid and fail over within 2 s with 100 ms API round trips', () => {
    assert.deepEqual(validateCoordinationSettings(DEFAULT_COORDINATION), []);
    assert.equal(failoverBoundMs(DEFAULT_COORDINATION, 100), 1700);
    assert.equal(dualAnswerBoundMs(DEFAULT_COORDINATION), 2000);
  });

  it('rejects non-positive or non-finite timings', () => {
    const errs = validateCoordinationSettings({ ...DEFAULT_COORDINATION, heartbeatIntervalMs: 0, heartbeatExpiryMs: Number.NaN });
    assert.equal(errs.length, 2);
    assert.match(errs[0]!, /heartbeat interval must be a positive/);
    assert.match(errs[1]!, /heartbeat expiry must be a positive/);
  });

  it('needs expiry ≥ 2 × interval', () => {
    const errs = validateCoordinationSettings({ ...DEFAULT_COORDINATION, heartbeatIntervalMs: 800, heartbeatExpiryMs: 1500 });
    assert.equal(errs.length, 1);
    assert.match(errs[0]!, /at least twice the heartbeat interval \(800 ms\)/);
    assert.deepEqual(validateCoordinationSettings({ ...DEFAULT_COORDINATION, heartbeatIntervalMs: 750, heartbeatExpiryMs: 1500 }), []);
  });

  it('checks the burst', () => {
    assert.match(validateCoordinationSettings({ ...DEFAULT_COORDINATION, burstRounds: 0 })[0] ?? '', /burst rounds/);
    assert.match(validateCoordinationSettings({ ...DEFAULT_COORDINATION, burstRounds: 1.5 })[0] ?? '', /burst rounds/);
    assert.match(validateCoordinationSettings({ ...DEFAULT_COORDINATION, burstIntervalMs: -1 })[0] ?? '', /burst interval must be ≥ 0/);
    assert.match(validateCoordinationSettings({ ...DEFAULT_COORDINATION, burstIntervalMs: 0 })[0] ?? '', /together/);
    assert.deepEqual(validateCoordinationSettings({ ...DEFAULT_COORDINATION, burstRounds: 1, burstIntervalMs: 0 }), []);
  });
});
