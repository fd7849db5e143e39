import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterStatus } from '../../../src/inspect/status.js';
import { renderStatus, renderStatusWide, truncate, truncateMiddle } from '../../../src/inspect/render.js';
import { formatAge } from '../../../src/inspect/snapshot.js';
import { hundredServices, lbService, nodeLease, serviceLease, snapshot } from './fixtures.js';

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
  const text = renderStatusWide(r, 120);
  // Four Services fit any screen: the default is the same table.
  assert.equal(renderStatus(r, { width: 120, rows: 50 }), text);
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

function fits(text: string, width: number, rows: number): string[] {
  const lines = text.trimEnd().split('\n');
  const widest = Math.max(...lines.map((l) => l.length));
  assert.ok(widest <= width, `a line of ${widest} columns at width ${width}:\n${lines.find((l) => l.length === widest) ?? ''}`);
  assert.ok(lines.length <= rows, `${lines.length} lines at ${width}x${rows}:\n${text}`);
  return lines;
}

test('100 Services (some dual-stack, long names) on 30 nodes, all announced, fit one screen of 50 rows at 80, 100 or 160 columns', () => {
  const r = clusterStatus(hundredServices());
  assert.equal(r.services.length, 100);
  assert.ok(r.services.every((x) => x.state === 'announced'));
  for (const width of [80, 100, 160]) {
    const text = renderStatus(r, { width, rows: 50 });
    const lines = fits(text, width, 50);
    assert.match(lines.at(-1) ?? '', /^100 Services, 110 addresses: 100 announced; 30\/30 nodes alive$/);
    assert.match(text, /^NODES {2}30 alive, holding 3-4 Services each$/m);
    assert.match(text, /^ANNOUNCED /m);
    // Nothing left out: every Service's address is there, names cut in the middle.
    for (let i = 0; i < 100; i++) assert.ok(text.includes(`192.0.2.${i + 100}`), `192.0.2.${i + 100} at width ${width}`);
    assert.doesNotMatch(text, /more announced/);
    assert.match(text, /…/);
    assert.match(text, /-\d+ 192\.0\.2\.\d+/);
  }
  // A line per holder at 160 columns (names as long as they can be), running on at 80.
  assert.match(renderStatus(r, { width: 160, rows: 50 }), /^worker-05: prod\/service-with-…ther-long-name-35 192\.0\.2\.135, /m);
  assert.match(renderStatus(r, { width: 80, rows: 50 }), /192\.0\.2\.\d+; worker-\d\d:/);
  // With room, the holder's interface and MAC too.
  assert.match(renderStatus(r, { width: 160, rows: 80 }), /^worker-05 \(eth0 02:00:00:00:00:05\): prod\/service-with-a-rather-long-name-35 192\.0\.2\.135, /m);
  // A screen tall enough for the whole table gets it.
  assert.equal(renderStatus(r, { width: 160, rows: 110 }), renderStatusWide(r, 160));
  const short = clusterStatus(hundredServices(false, true));
  assert.match(renderStatus(short, { width: 160, rows: 50 }), /^worker-05 \(eth0 02:00:00:00:00:05\): prod\/svc-35 192\.0\.2\.135, /m);
});

test('100 Services with problems: every problem in full, one line each, the healthy ones compactly, within 50 rows', () => {
  const r = clusterStatus(hundredServices(true));
  const problems = ['7', '13', '42', '28', '58', '88', '29', '59', '89'];
  for (const width of [80, 100, 160]) {
    const text = renderStatus(r, { width, rows: 50 });
    const lines = fits(text, width, 50);
    assert.match(lines[0] ?? '', /^SERVICE\s+ADDRESSES\s+STATE\s+HOLDER/);
    for (const p of problems) {
      const row = lines.find((l) => new RegExp(`-${p}\\s`).test(l) && !l.startsWith(' ') && /^\S+\s+\S/.test(l) && lines.indexOf(l) < 10);
      assert.ok(row !== undefined, `no row for …-${p} at width ${width}:\n${text}`);
    }
    assert.equal(lines.slice(1, 10).length, 9);
    assert.match(text, /-7\s+-\s+pending\s+every pool selecting/);
    assert.match(text, /-13\s+192\.0\.2\.113\s+no holder/);
    assert.match(text, /-42\s+198\.51\.100\.7\s+not announced\s+external IP/);
    assert.match(text, /-29\s+192\.0\.2\.129\s+announced\s+worker-29/);
    assert.match(text, /worker-28\(3\) MARKED unreachable on eth0/);
    assert.match(text, /worker-29\(3\) AGENT UNREACHABLE/);
    assert.match(text, /agents not read on 1 node, e\.g\. worker-29: connect ECONNREFUSED/);
    // The healthy ones: not in the problem table, not repeated.
    assert.doesNotMatch(text, /192\.0\.2\.105\s+announced/);
  }
});

test('a screen too small even for the compact form: the healthy Services left out are counted, problems never', () => {
  const r = clusterStatus(hundredServices(true));
  const text = renderStatus(r, { width: 80, rows: 25 });
  const lines = fits(text, 80, 25);
  assert.match(lines.at(-1) ?? '', /^… \d+ more announced Services left out \(no problem among them\); -o wide shows all$/);
  for (const p of ['-7 ', '-13 ', '-42 ', '-28 ', '-58 ', '-88 ', '-29 ', '-59 ', '-89 ']) assert.ok(lines.slice(1, 10).some((l) => l.includes(p)), p);
  // Only problems and no room at all: still every problem.
  const tiny = renderStatus(r, { width: 80, rows: 5 }).trimEnd().split('\n');
  assert.equal(tiny.filter((l) => /(pending|no holder|no candidate|not announced|announced)\s/.test(l) && !l.startsWith('…')).length, 9);
  assert.match(tiny.at(-1) ?? '', /^… 91 more announced Services left out/);
});

test('-o wide: one line per Service at any height, the MAC and the holder never cut', () => {
  const r = clusterStatus(hundredServices(true));
  for (const width of [80, 100, 160]) {
    const lines = renderStatusWide(r, width).trimEnd().split('\n');
    assert.ok(Math.max(...lines.map((l) => l.length)) <= width);
    assert.match(lines[0] ?? '', /^SERVICE\s+ADDRESSES\s+STATE\s+HOLDER\s+IFACE/);
    assert.equal(lines.filter((l) => /\s(announced|pending|no holder|not announced|no candidate)(\s|$)/.test(l)).length, 100);
  }
  assert.match(renderStatusWide(r, 100), /worker-\d\d\s+eth0\s+02:00:00:00:00:0\d/);
});

test('truncate and ages', () => {
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  assert.equal(truncateMiddle('prod/a-very-long-service-name', 15), 'prod/a-…ce-name');
  assert.deepEqual([5_000, 119_000, 150_000, 3_600_000, 5_400_000, 90_000_000, 30 * 86_400_000].map(formatAge), ['5s', '119s', '2m30s', '1h', '1h30m', '1d1h', '30d']);
});
