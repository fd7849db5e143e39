import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_COORDINATION } from '../../../../src/core/l2/coordination-settings.js';
import { isLive, liveNodes, nextExpiryAtMs, type HeartbeatObservation } from '../../../../src/core/l2/liveness.js';

const s = DEFAULT_COORDINATION;

describe('liveness', () => {
  it('a heartbeat is live until expiry has passed since its last seen change', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 10_000 };
    assert.equal(isLive(o, 10_000, s, 0), true);
    assert.equal(isLive(o, 11_499, s, 0), true);
    assert.equal(isLive(o, 11_500, s, 0), false);
    assert.equal(isLive(undefined, 0, s, 0), false);
  });

  it('silence counts only from the evidence floor: a node silent since before it is live for a whole expiry after it', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 1_000 };
    assert.equal(isLive(o, 40_000, s, 39_000), true);
    assert.equal(isLive(o, 40_499, s, 39_000), true);
    assert.equal(isLive(o, 40_500, s, 39_000), false);
  });

  it('without an evidence floor (the view was never current) nobody is declared dead', () => {
    assert.equal(isLive({ holder: 'a', lastChangeSeenAtMs: 0 }, 1e9, s, undefined), true);
    assert.equal(nextExpiryAtMs(new Map([['a', { holder: 'a', lastChangeSeenAtMs: 0 }]]), 1e9, s, undefined), undefined);
  });

  it('an empty holder (clean shutdown) is dead at once', () => {
    assert.equal(isLive({ holder: '', lastChangeSeenAtMs: 10_000 }, 10_000, s, 0), false);
    assert.equal(isLive({ holder: '', lastChangeSeenAtMs: 10_000 }, 10_000, s, undefined), false);
  });

  it('lists live nodes and the next moment one may expire', () => {
    const hb = new Map<string, HeartbeatObservation>([
      ['a', { holder: 'a', lastChangeSeenAtMs: 1000 }],
      ['b', { holder: 'b', lastChangeSeenAtMs: 1400 }],
      ['c', { holder: '', lastChangeSeenAtMs: 1400 }],
      ['d', { holder: 'd', lastChangeSeenAtMs: 0 }],
    ]);
    assert.deepEqual([...liveNodes(hb, 1600, s, 0)].sort(), ['a', 'b']);
    assert.equal(nextExpiryAtMs(hb, 1600, s, 0), 2500);
    assert.equal(nextExpiryAtMs(hb, 1600, s, 1200), 2700);
    assert.equal(nextExpiryAtMs(new Map(), 0, s, 0), undefined);
  });
});
