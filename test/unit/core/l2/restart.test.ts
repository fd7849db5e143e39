import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartDecision, type OwnNodeFacts } from '../../../../src/core/l2/restart.js';

const healthy: OwnNodeFacts = { unschedulable: false, ready: 'True', deleting: false, labels: {} };

describe('restartDecision: hand over, or restart in place', () => {
  const rows: Array<[string, number, OwnNodeFacts | undefined, 'restart' | 'handover', RegExp]> = [
    ['a healthy node, grace set: a rolling update of the agent', 10_000, healthy, 'restart', /restarting in place/],
    ['grace 0: always hand over', 0, healthy, 'handover', /--restart-grace=0/],
    ['cordoned (kubectl drain)', 10_000, { ...healthy, unschedulable: true }, 'handover', /cordoned/],
    ['NotReady (graceful node shutdown)', 10_000, { ...healthy, ready: 'False' }, 'handover', /not Ready \(Ready=False/],
    ['Ready Unknown (kubelet gone)', 10_000, { ...healthy, ready: 'Unknown' }, 'handover', /not Ready/],
    ['no Ready condition at all', 10_000, { ...healthy, ready: undefined }, 'handover', /Ready=absent/],
    ['being deleted', 10_000, { ...healthy, deleting: true }, 'handover', /deleted/],
    ['excluded from load balancers (any value)', 10_000, { ...healthy, labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, 'handover', /exclude-from-external-load-balancers/],
    ['our Node unknown to the watch', 10_000, undefined, 'handover', /not in the watch/],
    ['a NaN grace is off', Number.NaN, healthy, 'handover', /restart-grace=0/],
  ];
  for (const [name, grace, node, mode, reason] of rows) {
    it(name, () => {
      const d = restartDecision(grace, node);
      assert.equal(d.mode, mode);
      assert.match(d.reason, reason);
      if (d.mode === 'restart') assert.equal(d.graceMs, grace);
    });
  }
});
