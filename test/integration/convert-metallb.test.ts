/**
 * `herald convert metallb` against a real kube-apiserver: MetalLB objects are
 * created with MetalLB's own CRDs (from its Go module, scripts/ensure-metallb-crds.sh),
 * Services get addresses in status as MetalLB's controller writes them, and
 * `kubectl get ... -o yaml` is piped into the command. kubectl then accepts
 * the output (server-side dry run, then for real), and `herald operator`,
 * started afterwards, keeps every address where MetalLB put it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ControlPlane, KubectlError } from '../../harness/control-plane.js';
import { heraldCli } from '../../harness/entry-points.js';
import { installCrds, waitForCrds } from '../../harness/crds.js';
import { conditionOf, getService, serviceIps, serviceManifest } from '../../harness/kube-objects.js';
import { operatorUser, startOperator } from '../../harness/operator-setup.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { repoRoot } from '../../harness/paths.js';
import { waitFor } from '../../harness/wait.js';

const run = promisify(execFile);
const SATISFIED = 'cilium.io/IPAMRequestSatisfied';
let cp: ControlPlane;
let operator: HeraldProcess | undefined;

const metallbObjects = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec:
  addresses: [192.0.2.0/25, "192.0.2.200-192.0.2.210", "2001:db8:1::/120"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: buggy, namespace: metallb-system}
spec:
  addresses: [203.0.113.0/24]
  avoidBuggyIPs: true
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: reserved, namespace: metallb-system}
spec:
  addresses: [198.51.100.0/28]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: shop, namespace: metallb-system}
spec:
  addresses: [198.51.100.64/28]
  serviceAllocation:
    namespaces: [prod]
    serviceSelectors: [{matchLabels: {tier: web}}]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: main, namespace: metallb-system}
spec:
  ipAddressPools: [lan, buggy, shop]
  interfaces: [eth0, bond0.100]
  nodeSelectors:
    - matchLabels: {rack: a}
    - matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: DoesNotExist}]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: routed, namespace: metallb-system}
spec:
  ipAddressPools: [reserved]
`;

/** name, namespace, options, and the addresses MetalLB's controller gave it. */
const services: { name: string; namespace: string; ips: string[]; o: Parameters<typeof serviceManifest>[1] }[] = [
  { name: 'web', namespace: 'default', ips: ['192.0.2.0'], o: {} },
  { name: 'pinned', namespace: 'default', ips: ['192.0.2.201'], o: { annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.201' } } },
  { name: 'dns-tcp', namespace: 'default', ips: ['192.0.2.53'], o: { ports: [53], annotations: { 'metallb.io/allow-shared-ip': 'dns' } } },
  { name: 'dns-udp', namespace: 'infra', ips: ['192.0.2.53'], o: { ports: [5353], annotations: { 'metallb.io/allow-shared-ip': 'dns' } } },
  { name: 'vip', namespace: 'infra', ips: ['198.51.100.5'], o: { annotations: { 'metallb.io/address-pool': 'reserved' } } },
  { name: 'shop', namespace: 'prod', ips: ['198.51.100.64'], o: { labels: { tier: 'web' } } },
  { name: 'old-router', namespace: 'default', ips: ['203.0.113.1'], o: {} },
];

async function herald(args: readonly string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [heraldCli, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

let snapshot = '';
let converted = '';

before(async () => {
  cp = await ControlPlane.start();
  await installCrds(cp);
  const { stdout } = await run(`${repoRoot}scripts/ensure-metallb-crds.sh`);
  const dir = stdout.trim();
  for (const kind of ['ipaddresspools', 'l2advertisements', 'bgpadvertisements']) {
    await cp.kubectl(['apply', '-f', `${dir}/metallb.io_${kind}.yaml`]);
  }
  await waitForCrds(cp, ['ipaddresspools.metallb.io', 'l2advertisements.metallb.io', 'bgpadvertisements.metallb.io']);
  for (const ns of ['metallb-system', 'infra', 'prod']) await cp.kubectl(['create', 'namespace', ns]);
});

after(async () => {
  await operator?.proc.stop();
  await cp.stop();
});

describe('from MetalLB objects in a cluster to herald objects in it', () => {
  test('MetalLB\'s CRDs take the objects, and the converter reads what kubectl get prints', async () => {
    await cp.kubectl(['apply', '-f', '-'], metallbObjects);
    for (const s of services) {
      await cp.kubectl(['apply', '-f', '-'], serviceManifest(s.name, { namespace: s.namespace, ...s.o }));
      // What MetalLB's controller writes.
      await cp.kubectl(['patch', 'service', s.name, '-n', s.namespace, '--subresource=status', '--type=merge',
        '-p', JSON.stringify({ status: { loadBalancer: { ingress: s.ips.map((ip) => ({ ip })) } } })]);
    }
    await cp.kubectl(['apply', '-f', '-'], serviceManifest('waiting', { namespace: 'default' }));
    snapshot = await cp.kubectl(['get', 'namespaces,ipaddresspools,l2advertisements,bgpadvertisements,services', '-A', '-o', 'yaml']);

    const r = await herald(['convert', 'metallb', '-f', '-', '--only', 'pools,policies,services'], snapshot);
    assert.equal(r.code, 0, r.stderr);
    converted = r.stdout;
    assert.doesNotMatch(r.stderr, /^error:/m);
    assert.match(r.stderr, /BGPAdvertisement metallb-system\/routed: not converted: herald announces addresses on the LAN/);
    assert.match(r.stderr, /IPAddressPool metallb-system\/reserved: takes only Services labelled herald\.io\/pool=reserved/);
    assert.match(r.stderr, /converted 4 pool\(s\), 2 policy\(ies\), 7 Service change\(s\); 0 error\(s\)/);

    const docs = parseAllDocuments(converted, { version: '1.1' });
    assert.ok(Array.isArray(docs));
    const objs = docs.map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> });
    const get = (kind: string, name: string, ns?: string): (typeof objs)[number] => {
      const o = objs.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === ns);
      assert.ok(o, `${kind} ${name} is in the output`);
      return o;
    };
    assert.deepEqual(get('CiliumLoadBalancerIPPool', 'lan').spec, {
      blocks: [{ cidr: '192.0.2.0/25' }, { start: '192.0.2.200', stop: '192.0.2.210' }, { cidr: '2001:db8:1::/120' }],
    });
    assert.deepEqual(get('CiliumLoadBalancerIPPool', 'buggy').spec, { blocks: [{ cidr: '203.0.113.0/24' }], allowFirstLastIPs: 'No' });
    assert.deepEqual(get('CiliumLoadBalancerIPPool', 'reserved').spec!.serviceSelector, { matchLabels: { 'herald.io/pool': 'reserved' } });
    assert.deepEqual(get('CiliumLoadBalancerIPPool', 'shop').spec!.serviceSelector, {
      matchLabels: { tier: 'web' }, matchExpressions: [{ key: 'io.kubernetes.service.namespace', operator: 'In', values: ['prod'] }],
    });
    const n1 = get('CiliumL2AnnouncementPolicy', 'main-n1').spec!;
    assert.deepEqual(n1.interfaces, ['^eth0$', '^bond0\\.100$']);
    assert.deepEqual(n1.nodeSelector, { matchLabels: { rack: 'a' } });
    assert.deepEqual(get('CiliumL2AnnouncementPolicy', 'main-n2').spec!.nodeSelector, {
      matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }],
    });
    assert.deepEqual(n1.serviceSelector, { matchExpressions: [{ key: 'herald.io/pool', operator: 'NotIn', values: ['reserved'] }] });
    assert.deepEqual(get('Service', 'vip', 'infra').metadata.labels, { 'herald.io/pool': 'reserved' });
    assert.deepEqual(get('Service', 'dns-udp', 'infra').metadata.annotations, {
      'lbipam.cilium.io/ips': '192.0.2.53', 'lbipam.cilium.io/sharing-key': 'dns', 'lbipam.cilium.io/sharing-cross-namespace': 'default',
    });
    assert.ok(!objs.some((o) => o.kind === 'Service' && o.metadata.name === 'waiting'), 'a Service with no address and no request needs no change');
  });

  test('kubectl accepts all of it (server-side dry run), then for real; Services keep their spec', async () => {
    assert.notEqual(converted, '', 'the conversion ran');
    const part = async (only?: string): Promise<string> => {
      const r = await herald(['convert', 'metallb', ...(only ? ['--only', only] : [])], snapshot);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const ssa = ['apply', '--server-side', '--field-manager=herald-convert', '-f', '-'];
    await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], await part());
    await cp.kubectl([...ssa, '--dry-run=server'], converted);
    const portsBefore = (await getService(cp, 'dns-tcp')).spec?.ports;
    // Why the Service changes are printed only on request, for a server-side apply: a client-side
    // apply of a partial Service patches away what the last kubectl apply set, and is refused.
    const clientSide = await cp.kubectl(['apply', '-f', '-'], await part('services')).then(() => undefined, (e: unknown) => e);
    assert.ok(clientSide instanceof KubectlError);
    assert.match(clientSide.stderr, /spec\.ports: Required value/);
    // The order docs/install.md gives: pin the Services, then pools and policies.
    await cp.kubectl(ssa, await part('services'));
    await cp.kubectl(['apply', '-f', '-'], await part());
    const pinned = await getService(cp, 'pinned');
    assert.equal(pinned.metadata.annotations?.['lbipam.cilium.io/ips'], '192.0.2.201');
    assert.equal(pinned.metadata.annotations['metallb.universe.tf/loadBalancerIPs'], '192.0.2.201', 'MetalLB\'s own annotation stays');
    assert.deepEqual((await getService(cp, 'dns-tcp')).spec?.ports, portsBefore);
    assert.deepEqual((await getService(cp, 'vip', 'infra')).metadata.labels, { 'herald.io/pool': 'reserved' });
    const pools = await cp.kubectl(['get', 'ippools', '-o', 'name']);
    assert.deepEqual(pools.trim().split('\n').sort(), ['buggy', 'lan', 'reserved', 'shop'].map((n) => `ciliumloadbalancerippool.cilium.io/${n}`));
    const policies = await cp.kubectl(['get', 'l2announcement', '-o', 'name']);
    assert.deepEqual(policies.trim().split('\n').sort(), ['main-n1', 'main-n2'].map((n) => `ciliuml2announcementpolicy.cilium.io/${n}`));
    // Converting again changes nothing: the pins are already there.
    const again = await herald(['convert', 'metallb', '--only', 'services'],
      await cp.kubectl(['get', 'namespaces,ipaddresspools,l2advertisements,services', '-A', '-o', 'yaml']));
    assert.match(again.stderr, /0 Service change\(s\)/);
  });

  test('herald operator, started afterwards, keeps every address where MetalLB put it', async () => {
    operator = await startOperator(cp, await operatorUser(cp), 'operator-0');
    for (const s of services) {
      const c = await waitFor(`${s.namespace}/${s.name} to be satisfied`, async () => {
        const got = conditionOf(await getService(cp, s.name, s.namespace), SATISFIED);
        return got?.status === 'True' ? got : undefined;
      });
      assert.equal(c.status, 'True');
      assert.deepEqual(await serviceIps(cp, s.name, s.namespace), s.ips, `${s.namespace}/${s.name} kept its address`);
    }
    const waiting = await waitFor('default/waiting to get an address', async () => {
      const ips = await serviceIps(cp, 'waiting');
      return ips.length === 1 ? ips : undefined;
    });
    // From a pool that serves every Service (lan or buggy), never from the opt-in one or prod's.
    assert.match(waiting[0] ?? '', /^(192\.0\.2|203\.0\.113)\.\d+$/);
  });

  test('a LoadBalancer Service\'s loadBalancerClass cannot be changed in place (why docs/install.md never asks to)', async () => {
    const err = await cp.kubectl(['patch', 'service', 'web', '--type=merge', '-p', '{"spec":{"loadBalancerClass":"io.cilium/l2-announcer"}}'])
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KubectlError, 'the apiserver refused the change');
    assert.match(err.stderr, /spec\.loadBalancerClass.*may not change once set/);
  });
});
