import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conditionsPatch, toWireCondition } from '../../../src/kube/conditions.js';

const NOW = '2026-11-27T03:00:00Z';
const BEFORE = '2026-11-27T02:00:00Z';
const conflict = { type: 'cilium.io/PoolConflict', status: 'False', reason: 'resolved', message: 'Pool does not conflict with other pools' };
const invalid = { type: 'herald.io/PoolInvalid', status: 'True', reason: 'invalid_spec', message: 'Pool allocates nothing until fixed: bad selector' };
const stored = (...cs: (typeof conflict)[]): ReturnType<typeof toWireCondition>[] => cs.map((c) => ({ ...c, lastTransitionTime: BEFORE }));

describe('conditionsPatch', () => {
  it('writes nothing when the stored conditions say it already', () => {
    assert.equal(conditionsPatch(stored(conflict, invalid), [conflict, invalid], NOW), undefined);
  });

  it('writes when a condition changed, keeping lastTransitionTime while the status stays', () => {
    const patch = conditionsPatch(stored(conflict), [{ ...conflict, message: 'other' }], NOW) as { conditions: { lastTransitionTime: string }[] };
    assert.equal(patch.conditions[0]?.lastTransitionTime, BEFORE);
  });

  it('writes when one of herald\'s optional conditions no longer holds, so the apply removes it', () => {
    const patch = conditionsPatch(stored(conflict, invalid), [conflict], NOW) as { conditions: { type: string }[] };
    assert.deepEqual(patch.conditions.map((c) => c.type), ['cilium.io/PoolConflict']);
  });

  it('leaves conditions of other writers alone', () => {
    assert.equal(conditionsPatch([...stored(conflict), { type: 'example.com/Other', status: 'True', lastTransitionTime: BEFORE }], [conflict], NOW), undefined);
  });
});
