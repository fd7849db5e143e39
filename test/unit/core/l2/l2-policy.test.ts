import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONDITION_BAD_INTERFACE_REGEX,
  CONDITION_BAD_NODE_SELECTOR,
  CONDITION_BAD_SERVICE_SELECTOR,
  compileL2Policy,
} from '../../../../src/core/l2/l2-policy.js';

describe('compileL2Policy', () => {
  it('selects everything when selectors and interfaces are missing', () => {
    const p = compileL2Policy({ name: 'p' });
    assert.equal(p.ok, true);
    assert.equal(p.selectsNode({ any: 'x' }), true);
    assert.equal(p.selectsService({}), true);
    assert.equal(p.matchesLink('whatever0'), true);
    assert.equal(p.allLinks, true);
    assert.equal(p.externalIPs, false);
    assert.equal(p.loadBalancerIPs, false);
  });

  it('interface patterns are OR-ed and unanchored, as in Cilium', () => {
    const p = compileL2Policy({ name: 'p', interfaces: ['eth0', '^bond[0-9]+$'] });
    assert.equal(p.matchesLink('eth0'), true);
    assert.equal(p.matchesLink('veth0abc'), true);
    assert.equal(p.matchesLink('bond1'), true);
    assert.equal(p.matchesLink('bond1.100'), false);
    assert.equal(p.matchesLink('eno1'), false);
    // Cached answers are the same answers.
    assert.equal(p.matchesLink('veth0abc'), true);
    assert.equal(p.matchesLink('eno1'), false);
  });

  it('emits all three conditions as False, reason resolved (a reason Cilium\'s CRD accepts), no message, when valid', () => {
    const p = compileL2Policy({ name: 'p', nodeSelector: { matchLabels: { a: 'b' } }, interfaces: ['^eth[0-9]+'] });
    assert.deepEqual(p.conditions, [
      { type: CONDITION_BAD_NODE_SELECTOR, status: 'False', reason: 'resolved', message: '' },
      { type: CONDITION_BAD_SERVICE_SELECTOR, status: 'False', reason: 'resolved', message: '' },
      { type: CONDITION_BAD_INTERFACE_REGEX, status: 'False', reason: 'resolved', message: '' },
    ]);
  });

  it('reports a bad interface regex and then selects nothing', () => {
    const p = compileL2Policy({ name: 'p', interfaces: ['eth0', 'eth[0-9'] });
    assert.equal(p.ok, false);
    const c = p.conditions.find((x) => x.type === CONDITION_BAD_INTERFACE_REGEX);
    assert.equal(c?.status, 'True');
    assert.equal(c.reason, 'error');
    assert.match(c.message, /eth\[0-9/);
    assert.equal(p.matchesLink('eth0'), false);
    assert.equal(p.selectsNode({}), false);
    assert.equal(p.selectsService({}), false);
  });

  it('reports bad node and service selectors separately', () => {
    const p = compileL2Policy({
      name: 'p',
      nodeSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] },
      serviceSelector: { matchLabels: { 'bad key!': 'x' } },
    });
    assert.equal(p.ok, false);
    const byType = new Map(p.conditions.map((c) => [c.type, c]));
    assert.equal(byType.get(CONDITION_BAD_NODE_SELECTOR)?.status, 'True');
    assert.match(byType.get(CONDITION_BAD_NODE_SELECTOR)?.message ?? '', /unknown operator/);
    assert.equal(byType.get(CONDITION_BAD_SERVICE_SELECTOR)?.status, 'True');
    assert.equal(byType.get(CONDITION_BAD_INTERFACE_REGEX)?.status, 'False');
  });

  it('an empty interface list means every link', () => {
    assert.equal(compileL2Policy({ name: 'p', interfaces: [] }).matchesLink('eth9'), true);
  });
});

describe('compileL2Policy: what the CRD accepts since it checks only what Cilium\'s checks', () => {
  const conditionOf = (p: ReturnType<typeof compileL2Policy>, type: string) => p.conditions.find((c) => c.type === type);

  it('an empty interface pattern matches every link, as an empty Go regexp does', () => {
    const p = compileL2Policy({ name: 'p', interfaces: [''] });
    assert.equal(p.ok, true);
    assert.equal(p.allLinks, false);
    assert.equal(p.matchesLink('eth0'), true);
    assert.equal(p.matchesLink('bond0.100'), true);
  });

  const selectorCases: [string, NonNullable<Parameters<typeof compileL2Policy>[0]['nodeSelector']>, RegExp][] = [
    ['In without values', { matchExpressions: [{ key: 'zone', operator: 'In' }] }, /^matchExpressions\[0\]: operator In needs at least one value$/],
    ['DoesNotExist with values', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist', values: ['a'] }] }, /^matchExpressions\[0\]: operator DoesNotExist takes no values$/],
    ['an empty key', { matchExpressions: [{ key: '', operator: 'Exists' }] }, /label key "" is invalid/],
    ['a key of 64 characters', { matchExpressions: [{ key: 'k'.repeat(64), operator: 'Exists' }] }, /label key "k{64}" is invalid/],
  ];
  for (const [name, selector, says] of selectorCases) {
    it(`node selector: ${name} becomes a condition, and the policy selects nothing`, () => {
      const p = compileL2Policy({ name: 'p', nodeSelector: selector });
      assert.equal(p.ok, false);
      assert.equal(conditionOf(p, CONDITION_BAD_NODE_SELECTOR)?.status, 'True');
      assert.match(conditionOf(p, CONDITION_BAD_NODE_SELECTOR)?.message ?? '', says);
      assert.equal(conditionOf(p, CONDITION_BAD_SERVICE_SELECTOR)?.status, 'False');
      assert.equal(p.selectsNode({ zone: 'a' }), false);
    });
    it(`service selector: ${name} becomes a condition`, () => {
      const p = compileL2Policy({ name: 'p', serviceSelector: selector });
      assert.equal(p.ok, false);
      assert.equal(conditionOf(p, CONDITION_BAD_SERVICE_SELECTOR)?.status, 'True');
      assert.match(conditionOf(p, CONDITION_BAD_SERVICE_SELECTOR)?.message ?? '', says);
      assert.equal(p.selectsService({ zone: 'a' }), false);
    });
  }
});
