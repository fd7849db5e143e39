/**
 * `herald agent` end to end: three node namespaces on one LAN bridge, each
 * running its own agent process, plus a client, a real control plane and
 * `herald operator` (harness/l2-lab.ts). The client's kernel, curl and
 * arping are the peers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { L2Lab } from '../../harness/l2-lab.js';
import { longestBlackoutMs } from '../../harness/blackout-probe.js';
import { arpingReplies } from '../../harness/testbed.js';
import { apply, conditionOf, serviceIps, serviceManifest, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { waitFor, sleep } from '../../harness/wait.js';
import { waitForCrds } from '../../harness/crds.js';

let lab: L2Lab;
const NODES = ['node-a', 'node-b', 'node-c'];

before(async () => {
  lab = await L2Lab.start({ nodes: 3 });
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: lan-pool}',
    'spec: {blocks: [{start: 192.0.2.240, stop: 192.0.2.250}, {start: "2001:db8::f0", stop: "2001:db8::fa"}]}',
  ].join('\n'));
  // Seed 001's policy, unchanged but for its name.
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: l2announce-policy}',
    'spec:', '  serviceSelector: {matchLabels: {app: myapp}}',
    '  nodeSelector: {matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: DoesNotExist}]}',
    '  interfaces: ["^eth[0-9]+"]', '  externalIPs: true', '  loadBalancerIPs: true',
  ].join('\n'));
  // The Gateway API CRD is installed later, while the agents run (defect 3).
  for (const n of NODES) await lab.startAgent(n);
});

/** A minimal Gateway API CRD (seed 004 needs only the Gateways' labels). */
async function installGatewayCrd(): Promise<void> {
  await apply(lab.cp, [
    'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition',
    // *.k8s.io groups need this annotation; the upstream Gateway API CRDs carry the same one.
    'metadata: {name: gateways.gateway.networking.k8s.io, annotations: {api-approved.kubernetes.io: "https://github.com/kubernetes-sigs/gateway-api/pull/1538"}}',
    'spec:', '  group: gateway.networking.k8s.io', '  scope: Namespaced',
    '  names: {kind: Gateway, plural: gateways, singular: gateway, listKind: GatewayList}',
    '  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]',
  ].join('\n'));
  await waitForCrds(lab.cp, ['gateways.gateway.networking.k8s.io']);
}

after(async () => {
  await lab.stop();
});

async function holderOf(svc: string, namespace = 'default'): Promise<string> {
  return serviceLeaseHolder(lab.cp, svc, namespace);
}

async function waitHolder(svc: string, pred: (h: string) => boolean = (h) => h !== ''): Promise<string> {
  return waitFor(`a holder for ${svc}`, async () => {
    const h = await holderOf(svc);
    return pred(h) ? h : undefined;
  }, 20_000, 50);
}

async function arpingMacs(vip: string, count = 3): Promise<string[]> {
  const r = await lab.bed.execStatus(lab.bed.client, ['arping', '-c', String(count), '-w', String(count + 1), '-I', 'eth0', vip], { timeoutMs: 15_000 });
  return arpingReplies(r.stdout);
}

async function vipOf(svc: string, count = 1): Promise<string[]> {
  return waitFor(`${svc} to get its address`, async () => {
    const ips = await serviceIps(lab.cp, svc);
    return ips.length === count ? ips : undefined;
  });
}

describe('seed 001 on documentation addresses', () => {
  test('two Services get addresses, answer curl from the client, and the Leases name their holders', async () => {
    await apply(lab.cp, serviceManifest('app1-service', { labels: { app: 'myapp' }, selector: { app: 'app1' } }));
    await apply(lab.cp, serviceManifest('app2-service', { labels: { app: 'myapp' }, selector: { app: 'app2' } }));
    const [vip1] = await vipOf('app1-service');
    const [vip2] = await vipOf('app2-service');
    assert.equal(vip1, '192.0.2.240');
    assert.equal(vip2, '192.0.2.241');
    for (const [svc, vip] of [['app1-service', vip1], ['app2-service', vip2]] as const) {
      const holder = await waitHolder(svc);
      assert.ok(NODES.includes(holder), `holder ${holder}`);
      const answered = await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 10_000, 100);
      assert.equal(answered, holder, `${vip} was answered by ${answered}, the Lease names ${holder}`);
      assert.equal(await lab.neighMac(vip), lab.macOf(holder));
      assert.deepEqual(await arpingMacs(vip, 2), [lab.macOf(holder), lab.macOf(holder)], 'exactly one node answers ARP');
    }
    const leases = await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system']);
    assert.match(leases, /cilium-l2announce-default-app1-service\s+node-[abc]/);
  });

  test('an Event on the Service says which node announces it', async () => {
    const out = await lab.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'regarding.name=app1-service', '-o', 'json']);
    const notes = (JSON.parse(out) as { items: { reason: string; note: string }[] }).items.filter((e) => e.reason === 'L2AnnouncerChanged');
    assert.ok(notes.length >= 1);
    assert.match(notes[0]!.note, /node-[abc] announces 192\.0\.2\.240/);
  });

  test('a dual-stack Service is answered over IPv4 and IPv6 by the same node', async () => {
    await apply(lab.cp, serviceManifest('dual', { labels: { app: 'myapp' }, ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    const [v4, v6] = await vipOf('dual', 2);
    assert.match(v6!, /^2001:db8::f/);
    const holder = await waitHolder('dual');
    for (const vip of [v4!, v6!]) {
      assert.equal(await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 10_000, 100), holder);
    }
    assert.equal(await lab.neighMac(v6!), lab.macOf(holder));
  });

  test('the agent explains itself on /status', async () => {
    const holder = await holderOf('app1-service');
    const status = JSON.parse((await lab.agentHttp(holder, '/status')).body) as { services: { service: string; answering: boolean; addresses: { address: string; interfaces: string[] }[]; why: string }[] };
    const entry = status.services.find((s) => s.service === 'default/app1-service');
    assert.ok(entry?.answering);
    assert.deepEqual(entry.addresses, [{ address: '192.0.2.240', interfaces: ['eth0'] }]);
    assert.match(entry.why, /holding/);
  });
});

describe('what is not announced says why', () => {
  test('an external IP outside every pool: one Warning Event on the Service, a log line and /status on every agent; no ARP answer', async () => {
    await apply(lab.cp, serviceManifest('outside', { type: 'ClusterIP', labels: { app: 'myapp' }, externalIPs: ['192.0.2.77'] }));
    const why = 'external IP 192.0.2.77 lies in no CiliumLoadBalancerIPPool, so it is not announced';
    for (const n of NODES) {
      await waitFor(`${n}'s /status to list it`, async () => {
        const st = JSON.parse((await lab.agentHttp(n, '/status')).body) as { notAnnounced: { service: string; address: string; reason: string }[] };
        return st.notAnnounced.some((x) => x.service === 'default/outside' && x.address === '192.0.2.77' && x.reason === why) ? true : undefined;
      }, 10_000, 200);
    }
    const events = await waitFor('the Event', async () => {
      const list = JSON.parse(await lab.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'reason=AddressNotAnnounced,regarding.name=outside', '-o', 'json'])) as
        { items: { type: string; note: string; reportingInstance: string }[] };
      return list.items.length > 0 ? list.items : undefined;
    }, 10_000, 200);
    await sleep(1000);
    const again = JSON.parse(await lab.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'reason=AddressNotAnnounced,regarding.name=outside', '-o', 'json'])) as { items: unknown[] };
    assert.equal(again.items.length, 1, `one Event for the cluster, not one per agent (${events.length} seen first)`);
    const [first] = events;
    assert.ok(first);
    assert.equal(first.type, 'Warning');
    assert.equal(first.note, why);
    assert.deepEqual(await arpingMacs('192.0.2.77', 2), []);
  });
});

describe('changes move or withdraw announcements', () => {
  test('a node labelled exclude-from-external-load-balancers hands its Services over', async () => {
    const holder = await holderOf('app1-service');
    await lab.labelNode(holder, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
    const next = await waitHolder('app1-service', (h) => h !== '' && h !== holder);
    await waitFor('curl to reach the new holder', async () => ((await lab.curl('192.0.2.240').catch(() => '')) === next ? true : undefined), 10_000, 100);
    await lab.labelNode(holder, { 'node.kubernetes.io/exclude-from-external-load-balancers': null });
    await sleep(1000);
    assert.equal(await holderOf('app1-service'), next, 'a returning node must not take over from a healthy holder');
  });

  test('a Service the policy no longer selects is withdrawn; a foreign class is never announced', async () => {
    await apply(lab.cp, serviceManifest('unlabelled', { selector: { app: 'x' } }));
    const [vip] = await vipOf('unlabelled');
    await sleep(1500);
    assert.deepEqual(await arpingMacs(vip!, 2), [], 'a Service outside the policy got an ARP answer');
    assert.equal(await holderOf('unlabelled'), '');
    await apply(lab.cp, serviceManifest('foreign', { labels: { app: 'myapp' }, loadBalancerClass: 'example.com/other', externalTrafficPolicy: 'Cluster' }));
    await sleep(1000);
    assert.equal(await holderOf('foreign'), '');
    // Relabel app2 away from the policy: it stops being answered.
    const [vip2] = await serviceIps(lab.cp, 'app2-service');
    await lab.cp.kubectl(['label', 'svc', 'app2-service', '--overwrite', 'app=other']);
    await waitFor(`${vip2} to stop being answered`, async () => ((await arpingMacs(vip2!, 1)).length === 0 ? true : undefined), 10_000, 200);
    await lab.cp.kubectl(['label', 'svc', 'app2-service', '--overwrite', 'app=myapp']);
    await waitFor(`${vip2} to be answered again`, async () => ((await arpingMacs(vip2!, 1)).length === 1 ? true : undefined), 10_000, 200);
  });

  test('externalTrafficPolicy=Local: only a node with a ready endpoint announces', async () => {
    await apply(lab.cp, serviceManifest('local', { labels: { app: 'myapp' }, externalTrafficPolicy: 'Local', selector: { app: 'local' } }));
    await vipOf('local');
    await apply(lab.cp, [
      'apiVersion: discovery.k8s.io/v1', 'kind: EndpointSlice',
      'metadata: {name: local-1, namespace: default, labels: {kubernetes.io/service-name: local}}',
      'addressType: IPv4', 'ports: [{port: 8080, protocol: TCP}]',
      'endpoints: [{addresses: [198.51.100.3], nodeName: node-c, conditions: {ready: true}}, {addresses: [198.51.100.1], nodeName: node-a, conditions: {ready: false}}]',
    ].join('\n'));
    assert.equal(await waitHolder('local'), 'node-c');
    await apply(lab.cp, [
      'apiVersion: discovery.k8s.io/v1', 'kind: EndpointSlice',
      'metadata: {name: local-1, namespace: default, labels: {kubernetes.io/service-name: local}}',
      'addressType: IPv4', 'ports: [{port: 8080, protocol: TCP}]',
      'endpoints: [{addresses: [198.51.100.1], nodeName: node-a, conditions: {ready: true}}]',
    ].join('\n'));
    assert.equal(await waitHolder('local', (h) => h === 'node-a'), 'node-a');
  });

  test('defect 3: the Gateway API installed while the agents run is noticed within seconds, without restarting them', async () => {
    const agents = NODES.map((n) => lab.agent(n));
    const statusOf = async (n: string): Promise<{ gatewayApi: boolean }> => JSON.parse((await lab.agentHttp(n, '/status')).body) as { gatewayApi: boolean };
    for (const n of NODES) assert.equal((await statusOf(n)).gatewayApi, false, `${n} watches Gateways before the API exists`);
    await installGatewayCrd();
    const t0 = Date.now();
    await waitFor('every agent to watch Gateways', async () => {
      for (const n of NODES) if (!(await statusOf(n)).gatewayApi) return undefined;
      return true;
    }, 10_000, 100);
    const noticed = Date.now() - t0;
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: gw-late-policy}',
      'spec: {serviceSelector: {matchLabels: {gw-late: enable}}, interfaces: [eth0], loadBalancerIPs: true}',
    ].join('\n'));
    await apply(lab.cp, 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: late-gw, namespace: default, labels: {gw-late: enable}}\nspec: {gatewayClassName: cilium}\n');
    const t1 = Date.now();
    // Owned by the Gateway, as a Gateway controller makes it; only the Gateway carries the policy's label.
    const uid = (await lab.cp.kubectl(['get', 'gateway', 'late-gw', '-o', 'jsonpath={.metadata.uid}'])).trim();
    await apply(lab.cp, serviceManifest('cilium-gateway-late-gw', {
      ports: [443], ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'late-gw', uid, controller: true }],
    }));
    const [vip] = await vipOf('cilium-gateway-late-gw');
    const holder = await waitHolder('cilium-gateway-late-gw');
    await waitFor(`${vip} to be answered`, async () => ((await arpingMacs(vip!, 1))[0] === lab.macOf(holder) ? true : undefined), 10_000, 100);
    console.log(`Gateway CRD noticed by every agent after ${noticed} ms; Gateway-owned Service answered ${Date.now() - t1} ms after its Gateway was created`);
    assert.ok(Date.now() - t1 < 10_000, 'announced within seconds');
    assert.deepEqual(NODES.map((n) => lab.agent(n)), agents, 'no agent was restarted');
  });

  test('seed 004: a Gateway-generated Service is matched with its Gateway\'s labels, without relabelling', async () => {
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: mdhlabs-layer2-policy}',
      'spec: {serviceSelector: {matchLabels: {mdhlabs-arp: enable}}, interfaces: [eth0], externalIPs: true, loadBalancerIPs: true}',
    ].join('\n'));
    await apply(lab.cp, 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: cd-arp-gw, namespace: default, labels: {mdhlabs-arp: enable}}\nspec: {gatewayClassName: cilium}\n');
    // What the Gateway controller generates: the gateway-name label, none of the Gateway's labels.
    await apply(lab.cp, serviceManifest('cilium-gateway-cd-arp-gw', { labels: { 'gateway.networking.k8s.io/gateway-name': 'cd-arp-gw' }, ports: [443] }));
    const [vip] = await vipOf('cilium-gateway-cd-arp-gw');
    const holder = await waitHolder('cilium-gateway-cd-arp-gw');
    assert.deepEqual(await arpingMacs(vip!, 1), [lab.macOf(holder)]);
    // Without the Gateway's label it would not be announced: take it off the Gateway.
    await lab.cp.kubectl(['label', 'gateway', 'cd-arp-gw', 'mdhlabs-arp-']);
    await waitFor(`${vip} to stop being answered`, async () => ((await arpingMacs(vip!, 1)).length === 0 ? true : undefined), 10_000, 200);
  });

  test('an interface list that matches no link withdraws; a bad regex is reported on the policy', async () => {
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: bad-regex}',
      'spec: {serviceSelector: {matchLabels: {app: nothing}}, interfaces: ["eth[0-"], loadBalancerIPs: true}',
    ].join('\n'));
    const c = await waitFor('the bad-interface-regex condition', async () => {
      const p = JSON.parse(await lab.cp.kubectl(['get', 'l2announcement', 'bad-regex', '-o', 'json'])) as { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
      const cond = conditionOf(p, 'io.cilium/bad-interface-regex');
      return cond?.status === 'True' ? cond : undefined;
    });
    assert.equal(c.reason, 'error');
    assert.match(c.message ?? '', /eth\[0-/);
    // The good policy is unaffected: app1 is still answered.
    assert.ok(await lab.curl('192.0.2.240'));
  });
});

describe('failover', () => {
  test('killing the holder (the node dies) moves the address, and curl recovers', async () => {
    const vip = '192.0.2.240';
    const holder = await holderOf('app1-service');
    const probe = await lab.startProbe({ vip, durationMs: 6000 });
    await sleep(500);
    await lab.cutLan(holder);
    await lab.killAgent(holder);
    const report = await probe.done;
    const next = await holderOf('app1-service');
    assert.notEqual(next, holder);
    assert.ok(NODES.includes(next));
    assert.equal(await lab.curl(vip), next);
    const blackout = longestBlackoutMs(report.samples);
    console.log(`crash failover blackout: ${blackout} ms`);
    assert.ok(report.samples.at(-1)?.error === undefined, 'curl had not recovered at the end of the probe');
    await lab.restoreLan(holder);
    await lab.setNodeReady(holder, true);
    await lab.startAgent(holder);
  });

  test('the holder cut off the LAN without a carrier change, its API link up: the others take over within a second, it does not come back, and one MAC answers', async () => {
    const vip = '192.0.2.240';
    await everyAgentSeesAll();
    const holder = await holderOf('app1-service');
    const others = NODES.filter((n) => n !== holder);
    const probe = await lab.startProbe({ vip, durationMs: 5000 });
    await sleep(500);
    await lab.cutLan(holder);
    let restored = false;
    try {
      const report = await probe.done;
      const next = await holderOf('app1-service');
      const blackout = longestBlackoutMs(report.samples);
      console.log(`LAN-cut failover blackout: ${blackout} ms, ${holder} → ${next}`);
      assert.ok(others.includes(next), `still held by ${next}`);
      assert.ok(blackout < 1000, `blackout ${blackout} ms`);
      assert.ok(report.samples.at(-1)?.error === undefined, 'curl had not recovered at the end of the probe');
      // The cut node's Lease carries the monitors' mark, visible with kubectl.
      const marks = await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', `herald-agent-${holder}`, '-o', 'jsonpath={.metadata.annotations.herald\\.io/unreachable}']);
      assert.match(marks, /eth/, `no unreachable mark on ${holder}'s Lease`);
      await lab.restoreLan(holder);
      restored = true;
      // Back on the LAN: its mark is cleared once its monitors have heard it steadily; the Service stays where it went.
      await waitFor('the mark to be cleared', async () => ((await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', `herald-agent-${holder}`,
        '-o', 'jsonpath={.metadata.annotations.herald\\.io/unreachable}'])).trim() === '' ? true : undefined), 15_000, 200);
      assert.equal(await holderOf('app1-service'), next);
      const macs = new Set(await arpingMacs(vip, 3));
      assert.deepEqual([...macs], [lab.macOf(next)]);
    } finally {
      if (!restored) await lab.restoreLan(holder);
    }
  });

  test('defect 2: the survivors\' watches go quiet without a sound, then the holder dies: the LAN verdict moves the address within a second anyway', async () => {
    const vip = '192.0.2.240';
    await everyAgentSeesAll();
    const holder = await holderOf('app1-service');
    const survivors = NODES.filter((n) => n !== holder);
    try {
      // Every watch the survivors have open goes silent; their requests still work.
      for (const n of survivors) await lab.stallWatches(n);
      const probe = await lab.startProbe({ vip, durationMs: 8000 });
      await sleep(300);
      await lab.cutLan(holder);
      await lab.killAgent(holder);
      const report = await probe.done;
      const next = await holderOf('app1-service');
      const blackout = longestBlackoutMs(report.samples);
      console.log(`failover with stalled watches: ${blackout} ms to ${next}`);
      // The "down" broadcast tells the successor; its claim is a compare-and-swap on the version it has, which no watch needs to confirm.
      assert.ok(survivors.includes(next), `still held by ${next}`);
      assert.ok(blackout < 1000, `blackout ${blackout} ms`);
      assert.ok(report.samples.at(-1)?.error === undefined, 'curl had not recovered at the end of the probe');
    } finally {
      // The other watches (Services, nodes...) would stay quiet until their 90 s watchdog; later tests need them.
      for (const n of survivors) await lab.releaseWatches(n);
      await lab.restoreLan(holder);
      if (lab.agent(holder) === undefined) await lab.startAgent(holder);
    }
  });

  test('SIGTERM hands over with (almost) no failed requests', async () => {
    const vip = '192.0.2.240';
    const holder = await holderOf('app1-service');
    const probe = await lab.startProbe({ vip, durationMs: 4000 });
    await sleep(500);
    // The node is shutting down (the kubelet marks it NotReady), so its
    // agent hands over rather than restarting in place.
    await lab.setNodeReady(holder, false);
    await lab.stopAgent(holder, 'SIGTERM');
    // The node leaves the LAN once its agent is gone.
    await lab.cutLan(holder);
    const report = await probe.done;
    const next = await holderOf('app1-service');
    assert.notEqual(next, holder);
    const failed = report.samples.filter((s) => s.error !== undefined).length;
    console.log(`graceful handover: ${failed} failed of ${report.samples.length}, blackout ${longestBlackoutMs(report.samples)} ms`);
    assert.ok(failed <= 2, `${failed} requests failed during a graceful handover`);
    await lab.restoreLan(holder);
    await lab.setNodeReady(holder, true);
    await lab.startAgent(holder);
  });
});

interface LeaseState { holder: string; transitions: number }

/** Every cilium-l2announce-* Lease: holder and leaseTransitions. */
async function serviceLeases(): Promise<Map<string, LeaseState>> {
  const out = await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', '-l', 'herald.io/lease=service', '-o', 'json']);
  const items = (JSON.parse(out) as { items: { metadata: { name: string }; spec: { holderIdentity?: string; leaseTransitions?: number } }[] }).items;
  return new Map(items.map((l) => [l.metadata.name, { holder: l.spec.holderIdentity ?? '', transitions: l.spec.leaseTransitions ?? 0 }]));
}

async function everyAgentSeesAll(): Promise<void> {
  await waitFor('every agent to see three live nodes, none unreachable', async () => {
    for (const n of NODES) {
      const st = JSON.parse((await lab.agentHttp(n, '/status')).body) as { liveNodes: string[]; liveness?: { unreachable?: Record<string, string[]> } };
      if (st.liveNodes.length !== 3) return undefined;
      if (Object.values(st.liveness?.unreachable ?? {}).some((links) => links.length > 0)) return undefined;
    }
    return true;
  }, 30_000, 200);
}

describe('the control plane going away', () => {
  test('defect 1: an apiserver frozen for 30 s (SIGSTOP) moves no Service and fails no request, during or after', async () => {
    await apply(lab.cp, serviceManifest('steady', { labels: { app: 'myapp' }, selector: { app: 'steady' } }));
    const [vip] = await vipOf('steady');
    const holder = await waitHolder('steady');
    await waitFor(`curl ${vip}`, async () => lab.curl(vip!).catch(() => undefined), 10_000, 100);
    await everyAgentSeesAll();
    const before = await serviceLeases();
    const probe = await lab.startProbe({ vip: vip!, durationMs: 41_000, intervalMs: 100 });
    await sleep(1000);
    lab.cp.pauseApiserver();
    try {
      await sleep(30_000);
    } finally {
      lab.cp.resumeApiserver();
    }
    await sleep(10_000);
    const report = await probe.done;
    const after = await serviceLeases();
    const moved = [...before].filter(([name, b]) => {
      const a = after.get(name);
      return a === undefined || a.holder !== b.holder || a.transitions !== b.transitions;
    }).map(([name, b]) => `${name}: ${b.holder}/${b.transitions} → ${after.get(name)?.holder ?? 'gone'}/${after.get(name)?.transitions ?? '-'}`);
    const failed = report.samples.filter((s) => s.error !== undefined);
    console.log(`apiserver frozen 30 s: ${moved.length} Lease holder changes, ${failed.length} of ${report.samples.length} requests failed`);
    if (moved.length > 0 || failed.length > 0) console.log((await lab.evidence('apiserver pause')).text);
    assert.deepEqual(moved, [], 'a Lease changed hands');
    assert.equal(failed.length, 0, `${failed.length} requests failed: ${JSON.stringify(failed.slice(0, 5))}`);
    assert.ok(report.samples.every((s) => s.node === holder), 'every request was answered by the holder');
  });

  test('with the apiserver stopped, curl keeps working for 60 s', async () => {
    const vip = '192.0.2.240';
    const holder = await holderOf('app1-service');
    await lab.cp.stopApiserver();
    try {
      const probe = await lab.startProbe({ vip, durationMs: 60_000, intervalMs: 100 });
      const report = await probe.done;
      const failed = report.samples.filter((s) => s.error !== undefined).length;
      assert.equal(failed, 0, `${failed} of ${report.samples.length} requests failed while the apiserver was down`);
      assert.ok(report.samples.every((s) => s.error !== undefined || s.node === holder));
    } finally {
      await lab.cp.startApiserver();
    }
  });

  test('a holder partitioned from the apiserver (not the LAN) keeps answering alone: liveness is the LAN\'s, so nothing moves', async () => {
    const vip = '192.0.2.240';
    const holder = await waitHolder('app1-service');
    await everyAgentSeesAll();
    await lab.partition(holder);
    try {
      const probe = await lab.startProbe({ vip, durationMs: 4000 });
      const report = await probe.done;
      assert.equal(await holderOf('app1-service'), holder, 'the Lease moved although the holder answers on the LAN');
      const macs = new Set(await arpingMacs(vip, 3));
      assert.deepEqual([...macs], [lab.macOf(holder)], `MACs answering: ${[...macs].join(', ')}`);
      assert.equal(report.samples.filter((x) => x.error !== undefined).length, 0, 'failed requests while the holder was cut off the API');
    } finally {
      await lab.heal(holder);
    }
  });
});
