import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeLeaseName, serviceLeaseName } from '../../../../src/core/l2/lease-names.js';

describe('lease names', () => {
  it('match Cilium per Service and herald per agent', () => {
    assert.equal(serviceLeaseName('default', 'app1-service'), 'cilium-l2announce-default-app1-service');
    assert.equal(nodeLeaseName('kube2'), 'herald-agent-kube2');
  });
});
