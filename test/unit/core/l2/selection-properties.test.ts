import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { LabelSelector, Labels } from '../../../../src/core/label-selector.js';
import { compileL2Policy, type L2PolicySpec } from '../../../../src/core/l2/l2-policy.js';
import { EXCLUDE_LABEL, selectL2, type L2NodeView, type L2ServiceView } from '../../../../src/core/l2/selection.js';

const linkArb = fc.constantFrom('eth0', 'eth1', 'eno1', 'veth0abc', 'bond0.100', 'lxc9');
const nodeArb = (name: string): fc.Arbitrary<L2NodeView> => fc.record({
  name: fc.constant(name),
  labels: fc.dictionary(fc.constantFrom('zone', 'role', EXCLUDE_LABEL), fc.constantFrom('a', 'b', '')),
  unschedulable: fc.boolean(),
  upLinks: fc.uniqueArray(linkArb, { maxLength: 4 }),
});
const policyArb: fc.Arbitrary<L2PolicySpec> = fc.record({
  name: fc.constantFrom('p1', 'p2', 'p3'),
  nodeSelector: fc.constantFrom<LabelSelector | undefined>(undefined, { matchLabels: { zone: 'a' } }, { matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] }),
  serviceSelector: fc.constantFrom<LabelSelector | undefined>(undefined, { matchLabels: { app: 'web' } }, { matchLabels: { 'bad key!': 'x' } }),
  interfaces: fc.constantFrom(undefined, ['^eth[0-9]+'], ['eth0'], ['bond', 'eno'], ['(']),
  externalIPs: fc.boolean(),
  loadBalancerIPs: fc.boolean(),
});
const serviceArb: fc.Arbitrary<L2ServiceView> = fc.record({
  namespace: fc.constant('default'),
  name: fc.constantFrom('s1', 's2', 's3'),
  labels: fc.constantFrom<Labels>({}, { app: 'web' }),
  type: fc.constantFrom('LoadBalancer', 'ClusterIP'),
  externalTrafficPolicy: fc.constantFrom('Cluster', 'Local'),
  ingressIPs: fc.subarray(['192.0.2.1', '2001:db8::1']),
  externalIPs: fc.subarray(['192.0.2.2', '198.51.100.9']),
});

describe('selectL2 properties', () => {
  it('every candidate is eligible, selected, and answers only on its own matching up links', () => {
    fc.assert(fc.property(
      fc.tuple(nodeArb('n1'), nodeArb('n2'), nodeArb('n3')),
      fc.array(policyArb, { maxLength: 3 }),
      fc.array(serviceArb, { maxLength: 3 }),
      fc.subarray(['n1', 'n2', 'n3']),
      (nodes, specs, services, readyNodes) => {
        const policies = specs.map(compileL2Policy);
        const endpoints = new Map(services.map((s) => [`${s.namespace}/${s.name}`, { readyNodes: new Set(readyNodes), readyWithoutNode: false }]));
        const sel = selectL2({ policies, services, nodes, endpoints, poolRanges: [{ family: 4, start: 0xc0000200n, end: 0xc00002ffn }] });
        const byName = new Map(nodes.map((n) => [n.name, n]));
        for (const s of sel.services.values()) {
          for (const a of s.addresses) {
            for (const [nodeName, links] of a.nodes) {
              const node = byName.get(nodeName)!;
              assert.equal(Object.hasOwn(node.labels, EXCLUDE_LABEL), false);
              assert.equal(node.unschedulable, false);
              assert.ok(links.length > 0);
              for (const l of links) assert.ok(node.upLinks.includes(l));
              for (const l of links) assert.ok(policies.some((p) => p.ok && p.selectsNode(node.labels) && p.matchesLink(l)), `${nodeName}/${l}`);
              assert.equal(s.whyNot(nodeName), undefined);
            }
            assert.notEqual(a.address, '198.51.100.9', 'external IP outside every pool');
          }
          for (const n of nodes) if (!s.candidates.includes(n.name)) assert.equal(typeof s.whyNot(n.name), 'string');
        }
      },
    ), { numRuns: 500 });
  });
});
