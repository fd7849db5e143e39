import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiView, compareResourceVersions, staleAfterMs } from '../../../../src/core/l2/api-view.js';
import { DEFAULT_COORDINATION } from '../../../../src/core/l2/coordination-settings.js';

const s = DEFAULT_COORDINATION; // interval 500, expiry 1500: stale after 500 ms

type Step =
  | ['start', number] | ['ok', number, string] | ['fail', number] | ['seen', number, string];

interface Story {
  readonly name: string;
  readonly steps: readonly Step[];
  /** [time, current?, freshFrom] checked after the steps. */
  readonly expect: readonly (readonly [number, boolean, number | undefined])[];
  readonly stallAt?: number;
}

function run(steps: readonly Step[]): ApiView {
  const v = new ApiView(s);
  for (const step of steps) {
    switch (step[0]) {
      case 'start': v.renewalStarted(step[1]); break;
      case 'ok': v.renewalSucceeded(step[2], step[1]); break;
      case 'fail': v.renewalFailed(step[1]); break;
      case 'seen': v.ownSeen(step[2], step[1]); break;
    }
  }
  return v;
}

const healthy: Step[] = [['start', 0], ['ok', 5, '10'], ['seen', 7, '10'], ['start', 500], ['ok', 505, '12'], ['seen', 506, '12']];

const stories: Story[] = [
  {
    name: 'renewals that land and come back on the watch make the view current from the first such moment',
    steps: healthy,
    expect: [[506, true, 5], [1000, true, 5]],
  },
  {
    name: 'never renewed: not current, no evidence floor',
    steps: [['start', 0]],
    expect: [[100, false, undefined], [10_000, false, undefined]],
  },
  {
    name: 'an apiserver pause: a renewal outstanding past staleAfter stops the view; evidence restarts when it lands',
    steps: [...healthy, ['start', 1000]],
    expect: [[1400, true, 5], [1501, false, undefined]],
  },
  {
    name: 'the paused renewal lands 30 s later: fresh from that moment, not from before the pause',
    steps: [...healthy, ['start', 1000], ['ok', 31_000, '20'], ['seen', 31_002, '20']],
    expect: [[31_002, true, 31_000]],
  },
  {
    name: 'a failed renewal stops the view until the next one succeeds',
    steps: [...healthy, ['start', 1000], ['fail', 1100]],
    expect: [[1100, false, undefined], [1200, false, undefined]],
  },
  {
    name: 'after a failure the next success restarts the evidence',
    steps: [...healthy, ['start', 1000], ['fail', 1100], ['start', 1100], ['ok', 1110, '14'], ['seen', 1111, '14']],
    expect: [[1111, true, 1110]],
  },
  {
    name: 'a silent watch: the renewal succeeds but never comes back; not current after staleAfter, a stall reported; the floor stays (the API works)',
    steps: [...healthy, ['start', 1000], ['ok', 1005, '14']],
    expect: [[1400, true, 5], [1506, false, 5]],
    stallAt: 1506,
  },
  {
    name: 'a late watch delivery (a restarted watch) does not move the floor: our renewals landed, so what it shows is true',
    steps: [...healthy, ['start', 1000], ['ok', 1005, '14'], ['seen', 2500, '14']],
    expect: [[2500, true, 5]],
  },
  {
    name: 'a watch faster than the response: the version was already seen, nothing is unseen',
    steps: [...healthy, ['start', 1000], ['seen', 1003, '14'], ['ok', 1004, '14']],
    expect: [[1004, true, 5], [2000, true, 5]],
  },
  {
    name: 'no renewal lands for a whole expiry: not current',
    steps: healthy,
    expect: [[2004, true, 5], [2005, false, undefined]],
  },
];

describe('ApiView: when our own view of the API counts as evidence', () => {
  for (const story of stories) {
    it(story.name, () => {
      const v = run(story.steps);
      for (const [t, current, fresh] of story.expect) {
        assert.equal(v.isCurrent(t), current, `current at ${t}`);
        assert.equal(v.freshFrom(t), fresh, `freshFrom at ${t}`);
      }
      if (story.stallAt !== undefined) {
        assert.equal(v.takeWatchStall(story.stallAt - 2), false, 'not yet stalled');
        assert.equal(v.takeWatchStall(story.stallAt), true, 'stall reported');
        assert.equal(v.takeWatchStall(story.stallAt + 100), false, 'reported once per version');
      }
    });
  }

  it('proven up to the last delivery of a renewal of ours', () => {
    assert.equal(run(healthy).provenAt, 506);
    assert.equal(run([...healthy, ['start', 1000], ['ok', 1005, '14'], ['seen', 2500, '14']]).provenAt, 2500);
    assert.equal(run([['start', 0]]).provenAt, -Infinity);
  });

  it('reachable: one failed renewal is enough to count the API unreachable', () => {
    const v = run([...healthy, ['start', 1000], ['fail', 1001]]);
    assert.equal(v.reachable(1001), false);
    assert.equal(run(healthy).reachable(1000), true);
  });

  it('wakes at the moment the view would go stale without new observations', () => {
    const v = run([...healthy, ['start', 1000]]);
    assert.equal(v.nextChangeAt(1001), 1000 + staleAfterMs(s) + 1);
  });

  it('compares etcd revisions numerically, other versions only for equality', () => {
    assert.equal(compareResourceVersions('9', '10'), -1);
    assert.equal(compareResourceVersions('10', '10'), 0);
    assert.ok(Number.isNaN(compareResourceVersions('a', 'b')));
  });
});
