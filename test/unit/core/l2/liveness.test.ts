import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_COORDINATION } from '../../../../src/core/l2/coordination-settings.js';
import { isLive, liveNodes, nextExpiryAtMs, type Evidence, type HeartbeatObservation } from '../../../../src/core/l2/liveness.js';

const s = DEFAULT_COORDINATION;
/** Evidence from the start, proven up to `proven` (default: as far as the clock). */
const ev = (fresh: number | undefined, proven = Infinity): Evidence => ({ freshFromMs: fresh, provenAtMs: proven });

describe('liveness', () => {
  it('a heartbeat is live until expiry has passed since its last seen change', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 10_000 };
    assert.equal(isLive(o, 10_000, s, ev(0)), true);
    assert.equal(isLive(o, 11_499, s, ev(0)), true);
    assert.equal(isLive(o, 11_500, s, ev(0)), false);
    assert.equal(isLive(undefined, 0, s, ev(0)), false);
  });

  it('silence counts only from the evidence floor: a node silent since before it is live for a whole expiry after it', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 1_000 };
    assert.equal(isLive(o, 40_000, s, ev(39_000)), true);
    assert.equal(isLive(o, 40_499, s, ev(39_000)), true);
    assert.equal(isLive(o, 40_500, s, ev(39_000)), false);
  });

  it('half the expiry of silence must be proven by the watch: a watch that stopped proving kills nobody', () => {
    const o: HeartbeatObservation = { holder: 'a', lastChangeSeenAtMs: 10_000 };
    // Our last renewal came back on the watch at 10 500: only 500 ms of a's silence is proven.
    assert.equal(isLive(o, 12_000, s, ev(0, 10_500)), true);
    assert.equal(isLive(o, 20_000, s, ev(0, 10_500)), true);
    // Proven up to 10 750: dead once the whole expiry has passed.
    assert.equal(isLive(o, 11_499, s, ev(0, 10_750)), true);
    assert.equal(isLive(o, 11_500, s, ev(0, 10_750)), false);
  });

  it('without an evidence floor (our renewals do not land) nobody is declared dead', () => {
    assert.equal(isLive({ holder: 'a', lastChangeSeenAtMs: 0 }, 1e9, s, ev(undefined)), true);
    assert.equal(nextExpiryAtMs(new Map([['a', { holder: 'a', lastChangeSeenAtMs: 0 }]]), 1e9, s, ev(undefined)), undefined);
  });

  it('an empty holder (clean shutdown) is dead at once', () => {
    assert.equal(isLive({ holder: '', lastChangeSeenAtMs: 10_000 }, 10_000, s, ev(0)), false);
    assert.equal(isLive({ holder: '', lastChangeSeenAtMs: 10_000 }, 10_000, s, ev(undefined)), false);
  });

  it('lists live nodes and the next future moment one may expire', () => {
    const hb = new Map<string, HeartbeatObservation>([
      ['a', { holder: 'a', lastChangeSeenAtMs: 1000 }],
      ['b', { holder: 'b', lastChangeSeenAtMs: 1400 }],
      ['c', { holder: '', lastChangeSeenAtMs: 1400 }],
      ['d', { holder: 'd', lastChangeSeenAtMs: 0 }],
    ]);
    assert.deepEqual([...liveNodes(hb, 1600, s, ev(0))].sort(), ['a', 'b']);
    assert.equal(nextExpiryAtMs(hb, 1600, s, ev(0)), 2500);
    assert.equal(nextExpiryAtMs(hb, 1600, s, ev(1200)), 2700);
    assert.equal(nextExpiryAtMs(new Map(), 0, s, ev(0)), undefined);
    // d's expiry passed but is not proven: no timer for it (the next renewal on the watch will do).
    assert.equal(nextExpiryAtMs(new Map([['d', { holder: 'd', lastChangeSeenAtMs: 0 }]]), 1600, s, ev(0, 200)), undefined);
  });
});
