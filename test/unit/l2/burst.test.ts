import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BURST, burstDelays } from '../../../src/l2/burst.js';

describe('gratuitous burst schedule', () => {
  it('schedules the burst: first round at once, then every interval', () => {
    assert.deepEqual(burstDelays({ rounds: 3, intervalMs: 1000 }), [0, 1000, 2000]);
    assert.deepEqual(burstDelays({ rounds: 1, intervalMs: 1000 }), [0]);
    assert.deepEqual(burstDelays({ rounds: 0, intervalMs: 1000 }), []);
    assert.deepEqual(burstDelays({ rounds: 2.7, intervalMs: -5 }), [0, 0]);
  });

  it('defaults to a few rounds over a few seconds', () => {
    const d = burstDelays(DEFAULT_BURST);
    assert.ok(d.length >= 2 && d.length <= 5);
    assert.equal(d[0], 0);
    assert.ok(d.at(-1)! <= 5000);
  });
});
