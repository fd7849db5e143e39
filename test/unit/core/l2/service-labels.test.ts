import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATEWAY_NAME_LABEL, isGatewayService, selectorLabels } from '../../../../src/core/l2/service-labels.js';

describe('selectorLabels', () => {
  it('adds pseudo-labels that override real labels of the same name', () => {
    const l = selectorLabels({ namespace: 'prod', name: 'web', labels: { app: 'x', 'io.kubernetes.service.name': 'fake' } });
    assert.deepEqual(l, { app: 'x', 'io.kubernetes.service.namespace': 'prod', 'io.kubernetes.service.name': 'web' });
  });

  it('merges Gateway labels under the Service labels for a Service owned by a Gateway', () => {
    const l = selectorLabels({
      namespace: 'prod', name: 'cilium-gateway-cd-arp-gw',
      labels: { app: 'own' },
      ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'cd-arp-gw' }],
      gatewayLabels: { app: 'gw', 'mdhlabs-arp': 'enable' },
    });
    assert.equal(l['mdhlabs-arp'], 'enable');
    assert.equal(l.app, 'own');
  });

  it('recognises the gateway-name label too', () => {
    const svc = { namespace: 'n', name: 's', labels: { [GATEWAY_NAME_LABEL]: 'gw' }, gatewayLabels: { arp: 'on' } };
    assert.equal(isGatewayService(svc), true);
    assert.equal(selectorLabels(svc).arp, 'on');
  });

  it('ignores Gateway labels on ordinary Services', () => {
    const svc = {
      namespace: 'n', name: 's',
      ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Gateway', name: 'g' }],
      gatewayLabels: { arp: 'on' },
    };
    assert.equal(isGatewayService(svc), false);
    assert.equal(selectorLabels(svc).arp, undefined);
  });
});
