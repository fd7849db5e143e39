import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterStatus } from '../../../src/inspect/status.js';
import { renderStatus, truncate, truncateMiddle } from '../../../src/inspect/render.js';
import { formatAge } from '../../../src/inspect/snapshot.js';
import { lbService, node, nodeLease, pool, serviceLease, snapshot } from './fixtures.js';

test('status: each Service with its holder, interface, MAC (agent first, else node Lease) and age; pending and not announced say why', () => {
  const s = snapshot({
    services: [
      lbService('web', { ips: ['192.0.2.240'] }),
      lbService('nohold', { ips: ['192.0.2.241'] }),
      lbService('pending', { condition: { status: 'False', reason: 'no_pool', message: 'no pool matches' } }),
      lbService('ext', { type: 'ClusterIP', externalIPs: ['192.0.2.77'] }),
      lbService('plain', { type: 'ClusterIP' }),
      lbService('other', { loadBalancerClass: 'metallb.io/metallb' }),
    ],
    leases: [nodeLease('node-a'), nodeLease('node-b', { unreachable: ['eth0'] }), nodeLease('node-c', { holder: '' }),
      serviceLease('default/web', 'node-a', '2026-11-27T04:57:30.000000Z')],
    agentList: [['node-a', { reachable: true, status: { macs: { eth0: '02:aa:00:00:00:01' }, services: [{ service: 'default/web', addresses: [{ address: '192.0.2.240', interfaces: ['eth0'] }] }] } }]],
  });
  const r = clusterStatus(s);
  assert.deepEqual(r.services.map((x) => [x.service, x.state, x.holder, x.interfaces, x.macs, x.age]), [
    ['default/ext', 'not announced', null, [], [], null],
    ['default/nohold', 'no holder', null, [], [], null],
    ['default/pending', 'pending', null, [], [], null],
    ['default/web', 'announced', 'node-a', ['eth0'], ['02:aa:00:00:00:01'], '2m30s'],
  ]);
  assert.equal(r.services.find((x) => x.service === 'default/pending')?.note, 'no pool matches');
  assert.match(r.services.find((x) => x.service === 'default/ext')?.note ?? '', /lies in no CiliumLoadBalancerIPPool/);
  assert.deepEqual(r.nodes.map((n) => [n.name, n.state, n.holds]), [['node-a', 'alive', 1], ['node-b', 'marked', 0], ['node-c', 'no agent', 0]]);
  assert.deepEqual(r.summary, { services: 4, addresses: 3, announced: 1, withoutHolder: 1, pending: 1, notAnnounced: 1, nodes: 3, alive: 1 });
  const text = renderStatus(r, 120);
  assert.match(text, /^SERVICE\s+ADDRESSES\s+STATE\s+HOLDER\s+IFACE\s+MAC\s+AGE$/m);
  assert.match(text, /default\/web\s+192\.0\.2\.240\s+announced\s+node-a\s+eth0\s+02:aa:00:00:00:01\s+2m30s/);
  assert.match(text, /NODES {2}node-a\(1\) {2}node-b\(0\) MARKED unreachable on eth0 {2}node-c\(0\) NO AGENT/);
  assert.match(text, /4 Services, 3 addresses: 1 announced, 1 without a holder, 1 pending, 1 not announced; 1\/3 nodes alive$/m);
});

test('an agent that did not answer makes its node "agent unreachable", the MAC still comes from its node Lease', () => {
  const s = snapshot({
    services: [lbService('web', { ips: ['192.0.2.240'] })],
    leases: [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c'), serviceLease('default/web', 'node-c')],
    agentList: [['node-c', { reachable: false, error: 'ECONNREFUSED' }]],
  });
  const r = clusterStatus(s);
  assert.deepEqual(r.services[0]?.macs, ['02:00:00:00:00:0c']);
  assert.equal(r.nodes.find((n) => n.name === 'node-c')?.state, 'agent unreachable');
  assert.equal(r.nodes.find((n) => n.name === 'node-c')?.agentError, 'ECONNREFUSED');
});

test('100 Services (some dual-stack, long names) and 30 nodes fit a screen of 80, 100 or 160 columns: one line per Service, the nodes wrapped, a summary', () => {
  const nodes = Array.from({ length: 30 }, (_, i) => `worker-${String(i).padStart(2, '0')}`);
  const services = Array.from({ length: 100 }, (_, i) => lbService(`service-with-a-rather-long-name-${i}`, {
    namespace: i % 3 === 0 ? 'a-namespace-name-that-is-long' : 'prod',
    ips: i % 10 === 0 ? [`192.0.2.${i + 100}`, `2001:db8:1234:5678::${i.toString(16)}`] : [`192.0.2.${i + 100}`],
  }));
  const s = snapshot({
    services,
    pools: [pool('v4', '192.0.2.100', '192.0.2.250'), pool('v6', '2001:db8:1234:5678::', '2001:db8:1234:5678::ffff')],
    nodes: nodes.map((n) => node(n)),
    leases: [
      ...nodes.map((n) => nodeLease(n)),
      ...services.map((svc, i) => serviceLease(`${svc.metadata.namespace ?? ''}/${svc.metadata.name}`, nodes[i % nodes.length] ?? '')),
    ],
  });
  const r = clusterStatus(s);
  assert.equal(r.services.length, 100);
  assert.ok(r.services.every((x) => x.state === 'announced'));
  for (const width of [80, 100, 160]) {
    const lines = renderStatus(r, width).trimEnd().split('\n');
    const widest = Math.max(...lines.map((l) => l.length));
    assert.ok(widest <= width, `a line of ${widest} columns at width ${width}:\n${lines.find((l) => l.length === widest) ?? ''}`);
    // Header, 100 Services, the nodes on at most 5 lines, the summary.
    assert.ok(lines.length <= 1 + 100 + 5 + 1, `${lines.length} lines at width ${width}`);
    assert.match(lines.at(-1) ?? '', /^100 Services, 110 addresses: 100 announced; 30\/30 nodes alive$/);
  }
  const at100 = renderStatus(r, 100);
  // The MAC and the holder are never cut; names give way first.
  assert.match(at100, /worker-\d\d\s+eth0\s+02:00:00:00:00:0\d/);
  assert.match(at100, /…/);
});

test('truncate and ages', () => {
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  assert.equal(truncateMiddle('prod/a-very-long-service-name', 15), 'prod/a-…ce-name');
  assert.deepEqual([5_000, 119_000, 150_000, 3_600_000, 5_400_000, 90_000_000, 30 * 86_400_000].map(formatAge), ['5s', '119s', '2m30s', '1h', '1h30m', '1d1h', '30d']);
});
