import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSelector, type LabelSelector } from '../../../src/core/label-selector.js';

function matcher(selector: LabelSelector | undefined): (labels: Record<string, string>) => boolean {
  const c = compileSelector(selector);
  if (!c.ok) throw new Error(c.error);
  return c.value.matches;
}

function errorOf(selector: LabelSelector): string {
  const c = compileSelector(selector);
  assert.ok(!c.ok);
  return c.error;
}

describe('compileSelector', () => {
  it('selects everything when missing or empty', () => {
    assert.equal(matcher(undefined)({}), true);
    assert.equal(matcher({})({ a: 'b' }), true);
    const c = compileSelector(undefined);
    assert.ok(c.ok && c.value.matchesEverything);
  });

  it('matchLabels needs every pair', () => {
    const m = matcher({ matchLabels: { app: 'web', tier: 'front' } });
    assert.equal(m({ app: 'web', tier: 'front', x: 'y' }), true);
    assert.equal(m({ app: 'web' }), false);
    assert.equal(m({ app: 'web', tier: 'back' }), false);
  });

  it('matchLabels with an empty value needs the key present with an empty value', () => {
    const m = matcher({ matchLabels: { 'node.kubernetes.io/control-plane': '' } });
    assert.equal(m({ 'node.kubernetes.io/control-plane': '' }), true);
    assert.equal(m({}), false);
  });

  it('In, NotIn, Exists and DoesNotExist follow Kubernetes semantics', () => {
    const inM = matcher({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] });
    assert.equal(inM({ env: 'prod' }), true);
    assert.equal(inM({ env: 'dev' }), false);
    assert.equal(inM({}), false);
    const notIn = matcher({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] });
    assert.equal(notIn({ env: 'dev' }), true);
    assert.equal(notIn({}), true, 'NotIn matches a missing key');
    assert.equal(notIn({ env: 'prod' }), false);
    const exists = matcher({ matchExpressions: [{ key: 'env', operator: 'Exists' }] });
    assert.equal(exists({ env: '' }), true);
    assert.equal(exists({}), false);
    const dne = matcher({ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] });
    assert.equal(dne({}), true);
    assert.equal(dne({ 'node-role.kubernetes.io/control-plane': '' }), false);
  });

  it('ANDs matchLabels and matchExpressions', () => {
    const m = matcher({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] });
    assert.equal(m({ a: '1', b: 'x' }), true);
    assert.equal(m({ a: '1' }), false);
    assert.equal(m({ b: 'x' }), false);
  });

  it('does not treat inherited object properties as labels', () => {
    assert.equal(matcher({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] })({}), false);
  });

  it('returns an error value for invalid selectors', () => {
    assert.match(errorOf({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }), /unknown operator "Equals"/);
    assert.match(errorOf({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), /In needs at least one value/);
    assert.match(errorOf({ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }), /NotIn needs at least one value/);
    assert.match(errorOf({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), /Exists takes no values/);
    assert.match(errorOf({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }), /DoesNotExist takes no values/);
    assert.match(errorOf({ matchLabels: { 'bad key!': 'x' } }), /label key "bad key!" is invalid/);
    assert.match(errorOf({ matchLabels: { '-a': 'x' } }), /invalid/);
    assert.match(errorOf({ matchLabels: { 'Example.com/a': 'x' } }), /invalid prefix/);
    assert.match(errorOf({ matchLabels: { ['a'.repeat(64)]: 'x' } }), /invalid/);
    assert.match(errorOf({ matchLabels: { a: 'not valid' } }), /label value "not valid"/);
    assert.match(errorOf({ matchExpressions: [{ key: '', operator: 'Exists' }] }), /invalid/);
  });

  it('accepts valid prefixed keys', () => {
    assert.equal(compileSelector({ matchLabels: { 'io.kubernetes.service.namespace': 'default', 'a.b/c_d.e-f': 'v' } }).ok, true);
  });
});
