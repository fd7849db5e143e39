import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideOwnership, type OwnershipInput } from '../../../../src/core/l2/ownership.js';

const base: OwnershipInput = {
  self: 'a',
  ranked: ['a', 'b', 'c'],
  holder: 'b',
  live: new Set(['a', 'b', 'c']),
  apiReachable: true,
  addresses: ['192.0.2.10'],
  conflicted: new Set(),
};
const decide = (over: Partial<OwnershipInput>): ReturnType<typeof decideOwnership> => decideOwnership({ ...base, ...over });

describe('decideOwnership', () => {
  it('stickiness: a live candidate holder keeps the Service even if self ranks first', () => {
    const d = decide({});
    assert.deepEqual(d, { answer: false, answerAddresses: [], action: 'none', reason: 'holder b is live' });
  });

  it('the best-ranked live candidate claims when nobody holds it; others wait', () => {
    assert.equal(decide({ holder: '' }).action, 'claim');
    assert.equal(decide({ holder: undefined }).target, 'a');
    const other = decide({ self: 'b', holder: '' });
    assert.equal(other.action, 'none');
    assert.match(other.reason, /waiting for a/);
  });

  it('claims when the holder is dead, naming why', () => {
    const d = decide({ self: 'c', ranked: ['b', 'c', 'a'], holder: 'b', live: new Set(['a', 'c']) });
    assert.equal(d.action, 'claim');
    assert.equal(d.reason, "claimed: previous holder b's agent stopped");
    assert.equal(d.answer, false, 'answers only once the lease names it');
  });

  it('claims when the holder is no longer a candidate', () => {
    const d = decide({ ranked: ['a', 'c'] });
    assert.equal(d.action, 'claim');
    assert.match(d.reason, /no longer a candidate/);
  });

  it('does not claim when self is not live or leaving', () => {
    assert.equal(decide({ holder: '', live: new Set(['b']) }).action, 'none');
    const leaving = decide({ holder: '', leaving: 'shutting down' });
    assert.equal(leaving.action, 'none');
    assert.match(leaving.reason, /leaving/);
  });

  it('a non-candidate explains itself', () => {
    const d = decide({ ranked: ['b', 'c'], notCandidateReason: 'no up link matches ^eth[0-9]+' });
    assert.equal(d.reason, 'not a candidate: no up link matches ^eth[0-9]+; holder b is live');
  });

  it('a healthy holder keeps answering and never hands over to a better-ranked returning node', () => {
    const d = decide({ self: 'b', holder: 'b' });
    assert.deepEqual(d, { answer: true, answerAddresses: ['192.0.2.10'], action: 'none', reason: 'holding; this node is a live candidate' });
  });

  it('hands over to the best-ranked other live candidate when leaving, answering until then', () => {
    const d = decide({ holder: 'a', leaving: 'node is draining', live: new Set(['a', 'c']) });
    assert.equal(d.action, 'handover');
    assert.equal(d.target, 'c');
    assert.equal(d.answer, true);
    assert.equal(d.reason, 'handing over to c: node is draining');
  });

  it('hands over when no longer a candidate, releases when there is no successor', () => {
    const d = decide({ holder: 'a', ranked: ['b', 'c'], notCandidateReason: 'excluded by node.kubernetes.io/exclude-from-external-load-balancers' });
    assert.equal(d.action, 'handover');
    assert.equal(d.target, 'b');
    assert.match(d.reason, /excluded by/);
    const r = decide({ holder: 'a', leaving: 'shutting down', live: new Set(['a']) });
    assert.equal(r.action, 'release');
    assert.equal(r.answer, true);
  });

  it('keeps answering through an API outage until another MAC announces the address', () => {
    const outage = decide({ self: 'b', holder: 'b', apiReachable: false, live: new Set(['a', 'c']), addresses: ['192.0.2.10', '2001:db8::10'] });
    assert.equal(outage.answer, true);
    assert.equal(outage.action, 'none');
    assert.match(outage.reason, /API is unreachable/);
    const yielded = decide({
      self: 'b', holder: 'b', apiReachable: false, live: new Set(['a', 'c']),
      addresses: ['192.0.2.10', '2001:db8::10'], conflicted: new Set(['192.0.2.10']),
    });
    assert.deepEqual(yielded.answerAddresses, ['2001:db8::10']);
    assert.equal(yielded.answer, true);
    assert.match(yielded.reason, /stopped answering 192.0.2.10/);
    const all = decide({ self: 'b', holder: 'b', apiReachable: false, conflicted: new Set(['192.0.2.10']) });
    assert.equal(all.answer, false);
  });

  it('ignores wire conflicts while the API is reachable: the Lease is the truth', () => {
    const d = decide({ self: 'b', holder: 'b', conflicted: new Set(['192.0.2.10']) });
    assert.equal(d.answer, true);
  });

  it('reports when no candidate is live', () => {
    const d = decide({ self: 'x', ranked: ['b', 'c'], holder: 'b', live: new Set(['x']) });
    assert.match(d.reason, /not a candidate; previous holder b/);
    const e = decide({ holder: 'b', live: new Set() });
    assert.match(e.reason, /^no live candidate/);
  });
});
