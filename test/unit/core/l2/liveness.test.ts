import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_COORDINATION } from '../../../../src/core/l2/coordination-settings.js';
import { isLive, liveNodes, nextExpiryAtMs, type HeartbeatObservation } from '../../../../src/core/l2/liveness.js';

const s = DEFAULT_COORDINATION;

describe('liveness', () => {
  it('a heartbeat is live until expiry has passed since its last seen change', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 10_000 };
    assert.equal(isLive(o, 10_000, s), true);
    assert.equal(isLive(o, 11_499, s), true);
    assert.equal(isLive(o, 11_500, s), false);
    assert.equal(isLive(undefined, 0, s), false);
  });

  it('an empty holder (clean shutdown) is dead at once', () => {
    assert.equal(isLive({ holder: '', lastChangeSeenAtMs: 10_000 }, 10_000, s), false);
  });

  it('lists live nodes and the next moment one may expire', () => {
    const hb = new Map<string, HeartbeatObservation>([
      ['a', { holder: 'a', lastChangeSeenAtMs: 1000 }],
      ['b', { holder: 'b', lastChangeSeenAtMs: 1400 }],
      ['c', { holder: '', lastChangeSeenAtMs: 1400 }],
      ['d', { holder: 'd', lastChangeSeenAtMs: 0 }],
    ]);
    assert.deepEqual([...liveNodes(hb, 1600, s)].sort(), ['a', 'b']);
    assert.equal(nextExpiryAtMs(hb, 1600, s), 2500);
    assert.equal(nextExpiryAtMs(new Map(), 0, s), undefined);
  });
});
