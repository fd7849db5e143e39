/**
 * `herald convert metallb`: every mapping from MetalLB's objects to herald's
 * (Cilium's) API, and every error, on plain YAML input; then the command
 * itself as a child process for its exit codes and streams.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { readObjects, type Finding } from '../../src/convert/input.js';
import { convertMetallb, OPT_IN_LABEL, optInValue, parseMetallbAddress, type Conversion } from '../../src/convert/metallb.js';
import { formatFinding, renderYaml, PARTS } from '../../src/convert/render.js';
import { andSelectors, orAsOneSelector, readSelector } from '../../src/convert/selectors.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function convert(yaml: string): Conversion {
  const read = readObjects(yaml, 'test');
  const c = convertMetallb(read.objects);
  return { ...c, findings: [...read.findings, ...c.findings] };
}

const of = (c: Conversion, level: Finding['level']): string[] => c.findings.filter((f) => f.level === level).map(formatFinding);

function pool(name: string, spec: string, extra = ''): string {
  return `---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: metallb-system${extra}}\nspec: ${spec}\n`;
}
function adv(name: string, spec: string): string {
  return `---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: ${name}, namespace: metallb-system}\nspec: ${spec}\n`;
}
function svc(name: string, o: { ns?: string; ips?: string[]; annotations?: Record<string, string>; labels?: Record<string, string>; type?: string; cls?: string } = {}): string {
  return `---\n${JSON.stringify({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: o.ns ?? 'default', annotations: o.annotations, labels: o.labels },
    spec: { type: o.type ?? 'LoadBalancer', ports: [{ port: 80 }], ...(o.cls ? { loadBalancerClass: o.cls } : {}) },
    status: { loadBalancer: { ingress: (o.ips ?? []).map((ip) => ({ ip })) } },
  })}\n`;
}
const allPools = adv('l2', '{}');

describe('input', () => {
  test('multi-document streams and kind: List are flattened, empty documents skipped', () => {
    const r = readObjects(`${pool('a', '{addresses: [192.0.2.0/28]}')}---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: x}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: y}}\n`, 'f.yaml');
    assert.deepEqual(r.findings, []);
    assert.deepEqual(r.objects.map((o) => o.source), ['f.yaml, document 1', 'f.yaml, document 3, items[0]', 'f.yaml, document 3, items[1]']);
  });

  test('malformed YAML names the document and the line; the other documents are read', () => {
    const r = readObjects(`${pool('a', '{addresses: [192.0.2.0/28]}')}---\nkind: [oops\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n`, 'f.yaml');
    assert.equal(r.objects.length, 2);
    assert.equal(r.findings.length, 1);
    assert.match(formatFinding(r.findings[0]!), /^error: f\.yaml, document 2: malformed YAML at line \d+, column \d+: .*skipped/);
  });

  test('a document that is not a mapping is an error', () => {
    const r = readObjects('- just\n- a list\n', 'f');
    assert.match(formatFinding(r.findings[0]!), /f, document 1: is not a Kubernetes object/);
  });

  test('YAML 1.1 as kubectl reads it: yes and no are booleans', () => {
    const c = convert(pool('p', '{addresses: [203.0.113.0/24], avoidBuggyIPs: yes}') + allPools);
    assert.equal(c.pools[0]!.spec.allowFirstLastIPs, 'No');
  });
});

describe('addresses', () => {
  const ok = (t: string): string => {
    const r = parseMetallbAddress(t);
    assert.ok(r.ok, t);
    return `${r.value.kind} ${r.value.range.start}-${r.value.range.end}`;
  };
  const bad = (t: string): string => {
    const r = parseMetallbAddress(t);
    assert.ok(!r.ok, t);
    return r.error;
  };

  test('CIDRs and ranges of both families, with MetalLB\'s spaces around the dash', () => {
    assert.equal(ok('192.0.2.0/30'), 'cidr 3221225984-3221225987');
    assert.equal(ok('192.0.2.10 - 192.0.2.12'), 'range 3221225994-3221225996');
    assert.equal(ok('2001:db8::10-2001:db8::1f'), 'range 42540766411282592856903984951653826576-42540766411282592856903984951653826591');
    assert.match(ok('2001:db8::/126'), /^cidr /);
  });

  test('what MetalLB rejects is rejected, saying why', () => {
    assert.match(bad('192.0.2.0/33'), /"192\.0\.2\.0\/33" is not a valid CIDR/);
    assert.match(bad('192.0.2.5'), /neither a CIDR .* nor a start-end range; for this one address write 192\.0\.2\.5\/32/);
    assert.match(bad('2001:db8::5'), /write 2001:db8::5\/128/);
    assert.match(bad('192.0.2.20-192.0.2.10'), /the start 192\.0\.2\.20 is after the end 192\.0\.2\.10/);
    assert.match(bad('192.0.2.1-2001:db8::1'), /different IP families/);
    assert.match(bad('192.0.2.1-gateway'), /the end "gateway" is not an IP address/);
    assert.match(bad('lan'), /neither a CIDR/);
  });

  test('a pool becomes blocks: cidr (host bits masked, as both MetalLB and herald read it) or start/stop', () => {
    const c = convert(pool('p', '{addresses: ["192.0.2.7/24", "198.51.100.1-198.51.100.9", "2001:db8:1::/64"]}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.blocks, [
      { cidr: '192.0.2.0/24' }, { start: '198.51.100.1', stop: '198.51.100.9' }, { cidr: '2001:db8:1::/64' },
    ]);
    assert.equal(c.pools[0]!.spec.allowFirstLastIPs, undefined, 'MetalLB hands out .0 and .255 unless told not to, as herald does by default');
    assert.deepEqual(of(c, 'error'), []);
  });
});

describe('avoidBuggyIPs', () => {
  const blocks = (addresses: string): unknown => {
    const c = convert(pool('p', `{addresses: ${addresses}, avoidBuggyIPs: true}`) + allPools);
    return c.pools[0]?.spec;
  };

  test('/24 blocks only: allowFirstLastIPs "No" reserves exactly their .0 and .255', () => {
    assert.deepEqual(blocks('[192.0.2.0/24, 203.0.113.0/24]'), {
      blocks: [{ cidr: '192.0.2.0/24' }, { cidr: '203.0.113.0/24' }], allowFirstLastIPs: 'No',
    });
  });

  test('anything else: the .0 and .255 addresses are cut out as ranges', () => {
    assert.deepEqual(blocks('[198.51.100.0/23]'), { blocks: [
      { start: '198.51.100.1', stop: '198.51.100.254' }, { start: '198.51.101.1', stop: '198.51.101.254' },
    ] });
    assert.deepEqual(blocks('["192.0.2.250-192.0.3.5", 203.0.113.16/28, "2001:db8::/126"]'), { blocks: [
      { start: '192.0.2.250', stop: '192.0.2.254' }, { start: '192.0.3.1', stop: '192.0.3.5' },
      { cidr: '203.0.113.16/28' }, { cidr: '2001:db8::/126' },
    ] });
    assert.deepEqual(blocks('[192.0.2.0/25]'), { blocks: [{ start: '192.0.2.1', stop: '192.0.2.127' }] });
  });

  test('a block of more than 256 /24s is kept whole, with a warning', () => {
    const c = convert(pool('p', '{addresses: [10.0.0.0/15], avoidBuggyIPs: true}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.blocks, [{ cidr: '10.0.0.0/15' }]);
    assert.match(of(c, 'warning').join('\n'), /10\.0\.0\.0\/15 spans more than 256 \/24s and is kept whole/);
  });

  test('a pool of only buggy addresses is an error', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.255/32], avoidBuggyIPs: true}') + allPools);
    assert.equal(c.pools.length, 0);
    assert.match(of(c, 'error').join('\n'), /IPAddressPool metallb-system\/p: spec\.addresses: has no address left/);
  });
});

describe('which Services a pool serves', () => {
  test('no serviceAllocation: every Service (no selector)', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.0/28]}') + allPools);
    assert.equal(c.pools[0]!.spec.serviceSelector, undefined);
  });

  test('autoAssign: false becomes an opt-in label, given to the Services that hold its addresses or ask for it', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.0/28]}') + pool('vip', '{addresses: [198.51.100.0/28], autoAssign: false}') + allPools
      + svc('holds', { ips: ['198.51.100.3'] })
      + svc('asks', { annotations: { 'metallb.io/address-pool': 'vip' } })
      + svc('other', { ips: ['192.0.2.4'] }));
    const vip = c.pools.find((p) => p.name === 'vip')!;
    assert.deepEqual(vip.spec.serviceSelector, { matchLabels: { [OPT_IN_LABEL]: 'vip' } });
    assert.match(of(c, 'warning').join('\n'), /takes only Services labelled herald\.io\/pool=vip, because autoAssign is false/);
    const labelled = c.services.filter((s) => s.labels[OPT_IN_LABEL] === 'vip').map((s) => s.name);
    assert.deepEqual(labelled, ['holds', 'asks']);
    assert.deepEqual(c.services.find((s) => s.name === 'other')!.labels, {});
  });

  test('a Service that already carries the label is not changed for it', () => {
    const c = convert(pool('vip', '{addresses: [198.51.100.0/28], autoAssign: false}') + allPools
      + svc('holds', { ips: ['198.51.100.3'], labels: { [OPT_IN_LABEL]: 'vip' }, annotations: { 'lbipam.cilium.io/ips': '198.51.100.3' } }));
    assert.deepEqual(c.services, []);
  });

  test('namespaces: an In requirement on the namespace pseudo-label; one serviceSelector is ANDed', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.0/28], serviceAllocation: {namespaces: [prod, edge], serviceSelectors: [{matchLabels: {tier: web}}]}}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.serviceSelector, {
      matchLabels: { tier: 'web' },
      matchExpressions: [{ key: 'io.kubernetes.service.namespace', operator: 'In', values: ['edge', 'prod'] }],
    });
  });

  test('several serviceSelectors on one label become In; others become the opt-in label', () => {
    const same = convert(pool('p', '{addresses: [192.0.2.0/28], serviceAllocation: {serviceSelectors: [{matchLabels: {app: a}}, {matchLabels: {app: b}}]}}') + allPools);
    assert.deepEqual(same.pools[0]!.spec.serviceSelector, { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] });
    const mixed = convert(pool('p', '{addresses: [192.0.2.0/28], serviceAllocation: {serviceSelectors: [{matchLabels: {app: a}}, {matchLabels: {tier: b}}]}}') + allPools);
    assert.deepEqual(mixed.pools[0]!.spec.serviceSelector, { matchLabels: { [OPT_IN_LABEL]: 'p' } });
    assert.match(of(mixed, 'warning').join('\n'), /serviceSelectors are OR-ed in MetalLB/);
  });

  test('namespaceSelectors are resolved against the Namespaces in the input, with a note', () => {
    const ns = '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {env: prod}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {env: dev}}\n';
    const c = convert(ns + pool('p', '{addresses: [192.0.2.0/28], serviceAllocation: {namespaceSelectors: [{matchLabels: {env: prod}}]}}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.serviceSelector, { matchExpressions: [{ key: 'io.kubernetes.service.namespace', operator: 'In', values: ['prod'] }] });
    assert.match(c.pools[0]!.notes.join('\n'), /resolved to namespaces prod/);
  });

  test('namespaceSelectors without Namespaces in the input: the opt-in label, saying what to add', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.0/28], serviceAllocation: {namespaceSelectors: [{matchLabels: {env: prod}}]}}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.serviceSelector, { matchLabels: { [OPT_IN_LABEL]: 'p' } });
    assert.match(of(c, 'warning').join('\n'), /no Namespace objects to resolve them \(add namespaces to the kubectl get\)/);
  });

  test('priority is a note; serviceAllocation pools next to general ones warn about the order', () => {
    const c = convert(pool('general', '{addresses: [192.0.2.0/28]}') + pool('prod', '{addresses: [198.51.100.0/28], serviceAllocation: {priority: 10, namespaces: [prod]}}') + allPools);
    assert.match(c.pools.find((p) => p.name === 'prod')!.notes.join('\n'), /priority 10 has no equivalent/);
    assert.match(of(c, 'warning').join('\n'), /serviceAllocation pools \(prod\) before the general ones \(general\)/);
  });

  test('a long pool name gives a label value within 63 characters, stable', () => {
    const long = `pool-${'x'.repeat(80)}`;
    assert.ok(optInValue(long).length <= 63);
    assert.equal(optInValue(long), optInValue(long));
    assert.notEqual(optInValue(long), optInValue(`${long}y`));
    assert.equal(optInValue('short'), 'short');
  });

  test('pools of one name in two namespaces are told apart', () => {
    const c = convert(pool('lan', '{addresses: [192.0.2.0/28]}') + pool('lan', '{addresses: [198.51.100.0/28]}').replace('metallb-system', 'metallb-two') + allPools);
    assert.deepEqual(c.pools.map((p) => p.name), ['metallb-system-lan', 'metallb-two-lan']);
  });

  test('overlapping pools warn: herald lets only the older one allocate', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/24]}') + pool('b', '{addresses: ["192.0.2.100-192.0.2.110"]}') + allPools);
    assert.match(of(c, 'warning').join('\n'), /IPAddressPool metallb-system\/b: overlaps pool a/);
  });
});

describe('L2Advertisements become CiliumL2AnnouncementPolicies', () => {
  test('one covering every pool: one policy for every Service, load-balancer IPs only, as MetalLB', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + pool('b', '{addresses: [198.51.100.0/28]}') + allPools);
    assert.deepEqual(c.policies.map((p) => [p.name, p.spec]), [['l2', { loadBalancerIPs: true, externalIPs: false }]]);
  });

  test('the pools are named or selected by label; both together', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28], serviceAllocation: {namespaces: [a]}}')
      + pool('b', '{addresses: [198.51.100.0/28], serviceAllocation: {namespaces: [b]}}', ', labels: {l2: "on"}')
      + pool('c', '{addresses: [203.0.113.0/28], serviceAllocation: {namespaces: [c]}}')
      + adv('two', '{ipAddressPools: [a], ipAddressPoolSelectors: [{matchLabels: {l2: "on"}}]}'));
    assert.deepEqual(c.policies.map((p) => [p.name, p.spec.serviceSelector]), [
      ['two-a', { matchExpressions: [{ key: 'io.kubernetes.service.namespace', operator: 'In', values: ['a'] }] }],
      ['two-b', { matchExpressions: [{ key: 'io.kubernetes.service.namespace', operator: 'In', values: ['b'] }] }],
    ]);
    assert.match(of(c, 'warning').join('\n'), /IPAddressPool metallb-system\/c: is covered by no L2Advertisement/);
  });

  test('a subset whose other pools are opt-in: those pools\' Services are left out by their label', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + pool('vip', '{addresses: [198.51.100.0/28], autoAssign: false}') + adv('l2', '{ipAddressPools: [a]}'));
    assert.deepEqual(c.policies[0]!.spec.serviceSelector, { matchExpressions: [{ key: OPT_IN_LABEL, operator: 'NotIn', values: ['vip'] }] });
  });

  test('a subset that no label can tell apart: every Service, with a warning, and the per-Service check names the difference', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + pool('bgp', '{addresses: [198.51.100.0/28]}') + adv('l2', '{ipAddressPools: [a]}')
      + svc('routed', { ips: ['198.51.100.2'] }) + svc('lan', { ips: ['192.0.2.2'] }));
    assert.equal(c.policies[0]!.spec.serviceSelector, undefined);
    const w = of(c, 'warning').join('\n');
    assert.match(w, /covers pools a but not bgp/);
    assert.match(w, /Service default\/routed: was not announced by MetalLB on L2, but a converted policy selects it/);
    assert.doesNotMatch(w, /Service default\/lan: was/);
  });

  test('several nodeSelectors or serviceSelectors: one policy each (MetalLB ORs them)', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}')
      + adv('l2', '{nodeSelectors: [{matchLabels: {rack: a}}, {matchExpressions: [{key: edge, operator: Exists}]}], serviceSelectors: [{matchLabels: {expose: lan}}]}'));
    assert.deepEqual(c.policies.map((p) => [p.name, p.spec.nodeSelector, p.spec.serviceSelector]), [
      ['l2-n1', { matchLabels: { rack: 'a' } }, { matchLabels: { expose: 'lan' } }],
      ['l2-n2', { matchExpressions: [{ key: 'edge', operator: 'Exists' }] }, { matchLabels: { expose: 'lan' } }],
    ]);
    const two = convert(pool('a', '{addresses: [192.0.2.0/28]}') + adv('l2', '{serviceSelectors: [{matchLabels: {x: "1"}}, {matchLabels: {y: "1"}}]}'));
    assert.deepEqual(two.policies.map((p) => p.name), ['l2-s1', 'l2-s2']);
  });

  test('interfaces are exact names in MetalLB and regexes in herald: anchored and escaped', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + adv('l2', '{interfaces: [eth0, bond0.100, "en+x"]}'));
    assert.deepEqual(c.policies[0]!.spec.interfaces, ['^eth0$', '^bond0\\.100$', '^en\\+x$']);
    assert.ok(new RegExp(c.policies[0]!.spec.interfaces[1]!).test('bond0.100'));
    assert.ok(!new RegExp(c.policies[0]!.spec.interfaces[1]!).test('bond0x100'));
  });

  test('preferredNodeSelectors: left out with a warning', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + adv('l2', '{preferredNodeSelectors: [{weight: 50, preference: {matchLabels: {fast: "yes"}}}]}'));
    assert.equal(c.policies.length, 1);
    assert.match(of(c, 'warning').join('\n'), /spec\.preferredNodeSelectors: has no equivalent/);
  });

  test('a pool name that is not in the input is a warning; covering nothing writes no policy', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + adv('l2', '{ipAddressPools: [gone]}'));
    assert.equal(c.policies.length, 0);
    const w = of(c, 'warning').join('\n');
    assert.match(w, /spec\.ipAddressPools: names pool gone, which is not in the input/);
    assert.match(w, /covers no converted pool/);
  });

  test('no L2Advertisement at all: a warning that nothing will be announced', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}'));
    assert.equal(c.policies.length, 0);
    assert.match(of(c, 'warning').join('\n'), /no L2Advertisement: no CiliumL2AnnouncementPolicy was written/);
  });

  test('an invalid selector is an error naming the field; the advertisement is left out', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + adv('l2', '{nodeSelectors: [{matchExpressions: [{key: a, operator: Equals, values: [b]}]}]}'));
    assert.equal(c.policies.length, 0);
    assert.match(of(c, 'error').join('\n'), /L2Advertisement metallb-system\/l2: spec\.nodeSelectors\[0\]: matchExpressions\[0\].*Equals/);
  });
});

describe('Services', () => {
  const base = pool('a', '{addresses: [192.0.2.0/24, "2001:db8::/64"]}') + allPools;

  test('the addresses held now are pinned with lbipam.cilium.io/ips, both families', () => {
    const c = convert(base + svc('web', { ips: ['192.0.2.10', '2001:db8::a'] }));
    assert.deepEqual(c.services, [{ namespace: 'default', name: 'web', annotations: { 'lbipam.cilium.io/ips': '192.0.2.10,2001:db8::a' }, labels: {}, notes: [] }]);
  });

  test('a Service still waiting keeps what it asked MetalLB for; metallb.io/ wins over metallb.universe.tf/', () => {
    const c = convert(base + svc('waits', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.9', 'metallb.io/loadBalancerIPs': '192.0.2.20, 192.0.2.21' } }));
    assert.equal(c.services[0]!.annotations['lbipam.cilium.io/ips'], '192.0.2.20,192.0.2.21');
  });

  test('allow-shared-ip becomes sharing-key; a key used across namespaces lists them (MetalLB shares across all)', () => {
    const c = convert(base + svc('a', { ips: ['192.0.2.5'], annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } })
      + svc('b', { ns: 'other', ips: ['192.0.2.5'], annotations: { 'metallb.io/allow-shared-ip': 'k' } })
      + svc('c', { ips: ['192.0.2.6'], annotations: { 'metallb.io/allow-shared-ip': 'solo' } }));
    const by = (n: string): Record<string, string> => c.services.find((s) => s.name === n)!.annotations;
    assert.deepEqual(by('a'), { 'lbipam.cilium.io/ips': '192.0.2.5', 'lbipam.cilium.io/sharing-key': 'k', 'lbipam.cilium.io/sharing-cross-namespace': 'other' });
    assert.deepEqual(by('b'), { 'lbipam.cilium.io/ips': '192.0.2.5', 'lbipam.cilium.io/sharing-key': 'k', 'lbipam.cilium.io/sharing-cross-namespace': 'default' });
    assert.deepEqual(by('c'), { 'lbipam.cilium.io/ips': '192.0.2.6', 'lbipam.cilium.io/sharing-key': 'solo' });
  });

  test('a different lbipam.cilium.io/ips is replaced by what the Service holds, with a warning', () => {
    const c = convert(base + svc('x', { ips: ['192.0.2.7'], annotations: { 'lbipam.cilium.io/ips': '192.0.2.8' } }));
    assert.equal(c.services[0]!.annotations['lbipam.cilium.io/ips'], '192.0.2.7');
    assert.match(of(c, 'warning').join('\n'), /already has lbipam\.cilium\.io\/ips: 192\.0\.2\.8; replaced by 192\.0\.2\.7/);
  });

  test('holding one address and asking for another: what it holds is pinned, with a warning', () => {
    const c = convert(base + svc('x', { ips: ['192.0.2.7'], annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.9' } }));
    assert.equal(c.services[0]!.annotations['lbipam.cilium.io/ips'], '192.0.2.7');
    assert.match(of(c, 'warning').join('\n'), /holds 192\.0\.2\.7 but asks MetalLB for 192\.0\.2\.9/);
  });

  test('an address no converted pool contains, or a pool left out, is a warning: herald would move it', () => {
    const c = convert(base + pool('bad', '{addresses: [198.51.100.0/24], autoAssign: maybe}') + svc('x', { ips: ['203.0.113.9'] }) + svc('y', { ips: ['198.51.100.4'] }));
    const w = of(c, 'warning').join('\n');
    assert.match(w, /Service default\/x: 203\.0\.113\.9 will not be kept by herald: no converted pool contains it/);
    assert.match(w, /Service default\/y: 198\.51\.100\.4 will not be kept by herald: its pool bad was not converted/);
  });

  test('a pool whose selector does not select the Service holding its address is a warning', () => {
    const c = convert(pool('p', '{addresses: [192.0.2.0/24], serviceAllocation: {namespaces: [prod]}}') + allPools + svc('x', { ips: ['192.0.2.3'] }));
    assert.match(of(c, 'warning').join('\n'), /192\.0\.2\.3 is in pool p, whose serviceSelector does not select this Service/);
  });

  test('address-pool naming a general pool: herald has no per-Service pool choice', () => {
    const c = convert(base + svc('x', { annotations: { 'metallb.io/address-pool': 'a' } }));
    assert.match(of(c, 'warning').join('\n'), /asks for pool a \(address-pool annotation\); herald has no per-Service pool choice/);
  });

  test('other Service types are ignored; Services that need nothing get no change', () => {
    const c = convert(base + svc('cluster', { type: 'ClusterIP' }) + svc('pending'));
    assert.deepEqual(c.services, []);
  });

  test('loadBalancerClass: another class with MetalLB addresses warns; without them it is not MetalLB\'s', () => {
    const c = convert(base + svc('mine', { cls: 'metallb', ips: ['192.0.2.30'] }) + svc('theirs', { cls: 'example.com/lb', ips: ['203.0.113.1'] })
      + svc('cilium', { cls: 'io.cilium/l2-announcer', ips: ['192.0.2.31'] }));
    assert.deepEqual(c.services.map((s) => s.name), ['mine', 'cilium']);
    assert.match(of(c, 'warning').join('\n'), /loadBalancerClass metallb: herald serves it only when its operator and agents run with --load-balancer-classes=metallb/);
    assert.match(of(c, 'note').join('\n'), /Service default\/theirs: has loadBalancerClass example\.com\/lb and no address from a MetalLB pool/);
  });
});

describe('errors: named, and the rest still converted', () => {
  test('an invalid pool is left out, every bad field named; other pools and Services are converted', () => {
    const c = convert(pool('bad', '{addresses: [192.0.2.0/33, "198.51.100.9"], autoAssign: "sometimes"}') + pool('good', '{addresses: [203.0.113.0/28]}') + allPools
      + svc('s', { ips: ['203.0.113.2'] }));
    assert.deepEqual(c.pools.map((p) => p.name), ['good']);
    assert.deepEqual(of(c, 'error'), [
      'error: test, document 1: IPAddressPool metallb-system/bad: spec.addresses[0]: "192.0.2.0/33" is not a valid CIDR',
      'error: test, document 1: IPAddressPool metallb-system/bad: spec.addresses[1]: "198.51.100.9" is neither a CIDR (address/prefix) nor a start-end range; for this one address write 198.51.100.9/32',
      'error: test, document 1: IPAddressPool metallb-system/bad: spec.autoAssign: must be true or false',
    ]);
    assert.equal(c.services.length, 1);
  });

  test('missing spec, empty addresses, bad serviceAllocation', () => {
    const c = convert(`---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: nospec}\n`
      + pool('empty', '{addresses: []}') + pool('alloc', '{addresses: [192.0.2.0/28], serviceAllocation: {priority: high, namespaces: prod, serviceSelectors: [{matchLabels: {a: "b c"}}]}}'));
    const e = of(c, 'error').join('\n');
    assert.match(e, /IPAddressPool nospec: spec: is missing/);
    assert.match(e, /IPAddressPool metallb-system\/empty: spec\.addresses: must list at least one/);
    assert.match(e, /spec\.serviceAllocation\.priority: must be a whole number/);
    assert.match(e, /spec\.serviceAllocation\.namespaces: must be a list of namespace names/);
    assert.match(e, /spec\.serviceAllocation\.serviceSelectors\[0\]: matchLabels: label value "b c"/);
    assert.match(e, /the input has no valid IPAddressPool/);
  });

  test('an unknown kind is an error naming it; a missing name or kind too', () => {
    const c = convert(`${pool('a', '{addresses: [192.0.2.0/28]}')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {}\n---\napiVersion: v1\nmetadata: {name: x}\n`);
    const e = of(c, 'error');
    assert.match(e[0]!, /^error: test, document 2: Deployment default\/web: kind: unknown kind Deployment \(apps\/v1\)/);
    assert.match(e[1]!, /^error: test, document 3: IPAddressPool: metadata\.name: is required/);
    assert.match(e[2]!, /^error: test, document 4: kind: is not a Kubernetes object/);
    assert.equal(c.pools.length, 1);
  });

  test('MetalLB kinds herald does not convert: BGP (warning), status (note), AddressPool and the old ConfigMap (errors)', () => {
    const c = convert(`${pool('a', '{addresses: [192.0.2.0/28]}')}${allPools}`
      + '---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r1, namespace: metallb-system}\n'
      + '---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: b, namespace: metallb-system}\n'
      + '---\napiVersion: metallb.io/v1beta1\nkind: ServiceL2Status\nmetadata: {name: l2-abc, namespace: metallb-system}\n'
      + '---\napiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: old, namespace: metallb-system}\n'
      + '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metallb-system}\ndata: {config: "address-pools:\\n- name: default\\n"}\n'
      + '---\napiVersion: metallb.io/v1alpha1\nkind: IPAddressPool\nmetadata: {name: alpha, namespace: metallb-system}\n');
    const w = of(c, 'warning').join('\n');
    assert.match(w, /BGPPeer metallb-system\/r1: not converted: herald announces addresses on the LAN \(ARP\/NDP\) only/);
    assert.match(w, /BGPAdvertisement metallb-system\/b: not converted/);
    assert.match(of(c, 'note').join('\n'), /ServiceL2Status metallb-system\/l2-abc: is status written by MetalLB/);
    const e = of(c, 'error').join('\n');
    assert.match(e, /AddressPool metallb-system\/old: AddressPool, which MetalLB stopped reading in v0\.14\.2, is not converted/);
    assert.match(e, /ConfigMap metallb-system\/config: looks like MetalLB's configuration from before v0\.13 .*configmaptocrs/);
    assert.match(e, /IPAddressPool metallb-system\/alpha: apiVersion: metallb\.io\/v1alpha1 is not supported/);
    assert.equal(c.pools.length, 1);
  });

  test('the same object twice: the first is used, with a warning', () => {
    const c = convert(pool('a', '{addresses: [192.0.2.0/28]}') + pool('a', '{addresses: [198.51.100.0/28]}') + allPools);
    assert.deepEqual(c.pools[0]!.spec.blocks, [{ cidr: '192.0.2.0/28' }]);
    assert.match(of(c, 'warning').join('\n'), /appears again \(first at test, document 1\)/);
  });

  test('Service annotations must be strings', () => {
    const c = convert(`${base()}---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: d, annotations: {metallb.io/allow-shared-ip: 5}}\nspec: {type: LoadBalancer}\n`);
    assert.match(of(c, 'error').join('\n'), /Service d\/s: metadata\.annotations: \["metallb\.io\/allow-shared-ip"\] is not a string/);
    function base(): string { return pool('a', '{addresses: [192.0.2.0/28]}') + allPools; }
  });
});

describe('selectors', () => {
  test('AND keeps both; a second value for one key is an In requirement (selects nothing, still valid)', () => {
    assert.deepEqual(andSelectors({ matchLabels: { a: '1' } }, undefined, { matchLabels: { a: '2', b: '3' } }), {
      matchLabels: { a: '1', b: '3' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['2'] }],
    });
    assert.equal(andSelectors(undefined, {}), undefined);
  });

  test('OR into one selector only for one key', () => {
    assert.equal(orAsOneSelector([{ matchLabels: { a: '1', b: '2' } }]), undefined);
    assert.deepEqual(orAsOneSelector([{ matchLabels: { a: '1' } }, { matchLabels: { a: '1' } }]), { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] });
  });

  test('reading checks the shape and the values', () => {
    assert.deepEqual(readSelector({ matchLabels: { a: 'b' }, extra: 1 }), { ok: true, value: { matchLabels: { a: 'b' } } });
    assert.equal(readSelector('app=web').ok, false);
    assert.equal(readSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] }).ok, false);
  });
});

describe('rendering', () => {
  const c = convert(pool('buggy', '{addresses: [203.0.113.0/24], avoidBuggyIPs: true}') + allPools + svc('web', { ips: ['203.0.113.10'] }));

  test('YAML that reads back as the objects, "No" quoted so kubectl keeps it a string', () => {
    const text = renderYaml(c, new Set(PARTS), 'test');
    assert.match(text, /allowFirstLastIPs: "No"/);
    const docs = parseAllDocuments(text, { version: '1.1' });
    assert.ok(Array.isArray(docs));
    const objs = docs.map((d) => d.toJS() as { apiVersion: string; kind: string; spec?: { allowFirstLastIPs?: unknown } });
    assert.deepEqual(objs.map((o) => `${o.apiVersion} ${o.kind}`), [
      'cilium.io/v2 CiliumLoadBalancerIPPool', 'cilium.io/v2alpha1 CiliumL2AnnouncementPolicy', 'v1 Service',
    ], 'pools in the version herald reads (Cilium serves it from 1.18), policies in the only one there is');
    assert.equal(objs[0]!.spec!.allowFirstLastIPs, 'No');
    assert.match(text, /^# From IPAddressPool metallb-system\/buggy\.$/m);
    assert.match(text, /kubectl apply --server-side --field-manager=herald-convert/);
  });

  test('--only prints the parts asked for', () => {
    const text = renderYaml(c, new Set(['services'] as const), 'test');
    assert.doesNotMatch(text, /CiliumLoadBalancerIPPool|CiliumL2AnnouncementPolicy/);
    assert.match(text, /kind: Service/);
  });

  test('the header lists what could not be converted', () => {
    const bad = convert(pool('bad', '{addresses: [lan]}') + pool('ok', '{addresses: [192.0.2.0/28]}') + allPools);
    assert.match(renderYaml(bad, new Set(PARTS), 'test'), /# NOT COMPLETE: .*\n# {3}error: .*IPAddressPool metallb-system\/bad: spec\.addresses\[0\]/);
  });
});

describe('herald convert metallb (the command)', () => {
  function herald(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [cli, ...args], (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      });
      child.stdin?.end(input ?? '');
    });
  }
  const good = pool('a', '{addresses: [192.0.2.0/28]}') + allPools + svc('web', { ips: ['192.0.2.3'] });

  test('reads stdin, prints pools and policies on stdout and the summary on stderr, exit code 0', async () => {
    const r = await herald(['convert', 'metallb', '-f', '-'], good);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kind: CiliumLoadBalancerIPPool/);
    assert.match(r.stdout, /kind: CiliumL2AnnouncementPolicy/);
    assert.doesNotMatch(r.stdout, /kind: Service\n/, 'partial Services only when asked for: a plain kubectl apply must not get them');
    assert.match(r.stderr, /converted 1 pool\(s\), 1 policy\(ies\), 1 Service change\(s\) \(print them with --only services\); 0 error\(s\)/);
  });

  test('several files; errors give exit code 2 and the rest is still printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-convert-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), good);
      writeFileSync(join(dir, 'b.yaml'), pool('b', '{addresses: [198.51.100.0/33]}'));
      const r = await herald(['convert', 'metallb', '-f', join(dir, 'a.yaml'), '--filename', join(dir, 'b.yaml')]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /error: .*b\.yaml, document 1: IPAddressPool metallb-system\/b: spec\.addresses\[0\]: "198\.51\.100\.0\/33" is not a valid CIDR/);
      assert.match(r.stdout, /name: a\n/);
      assert.doesNotMatch(r.stdout, /name: b\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--only services', async () => {
    const r = await herald(['convert', 'metallb', '--only', 'services'], good);
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stdout, /CiliumLoadBalancerIPPool/);
    assert.match(r.stdout, /lbipam\.cilium\.io\/ips: 192\.0\.2\.3/);
  });

  for (const [what, args, message] of [
    ['an unknown source', ['convert', 'kube-vip'], /cannot convert from "kube-vip"; the one source is metallb/],
    ['an unknown part', ['convert', 'metallb', '--only', 'pools,routes'], /--only: "routes" is not one of pools, policies, services/],
    ['a missing file', ['convert', 'metallb', '-f', '/nonexistent/metallb.yaml'], /cannot read \/nonexistent\/metallb\.yaml/],
    ['stdin twice', ['convert', 'metallb', '-f', '-', '-f', '-'], /stdin \(-\) can be read only once/],
    ['an unknown flag', ['convert', 'metallb', '--frobnicate'], /frobnicate/],
  ] as const) {
    test(`rejects ${what} with exit code 2`, async () => {
      const r = await herald([...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
    });
  }

  test('malformed YAML is exit code 2, naming the document and line', async () => {
    const r = await herald(['convert', 'metallb'], `${good}---\nspec: {addresses: [\n`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error: stdin, document \d+: malformed YAML at line \d+/);
  });

  test('is listed in the usage, and has --help', async () => {
    assert.match((await herald(['help'])).stdout, /convert +print herald's pools/);
    const h = await herald(['convert', 'metallb', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /kubectl get namespaces,ipaddresspools,l2advertisements,services -A -o yaml > metallb\.yaml/);
    assert.match(h.stdout, /--only services \| kubectl apply --server-side --field-manager=herald-convert -f -/);
  });
});
