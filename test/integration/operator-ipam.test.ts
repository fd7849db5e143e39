/**
 * `herald operator` against a real kube-apiserver, run as a separate process
 * with only the permissions in deploy/manifests/operator-rbac.yaml. Each
 * test uses pools that select only its own Services (by a `test` label), so
 * the tests do not take each other's addresses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ControlPlane } from '../../harness/control-plane.js';
import { seedDirectory } from '../../harness/paths.js';
import { operatorUser, startOperator } from '../../harness/operator-setup.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { apply, conditionOf, getPool, getService, poolManifest, serviceIps, serviceManifest } from '../../harness/kube-objects.js';
import { waitFor } from '../../harness/wait.js';

const SATISFIED = 'cilium.io/IPAMRequestSatisfied';
let cp: ControlPlane;
let operator: HeraldProcess;

before(async () => {
  cp = await ControlPlane.start();
  const kubeconfig = await operatorUser(cp);
  operator = await startOperator(cp, kubeconfig, 'operator-0');
});

after(async () => {
  await operator.proc.stop();
  await cp.stop();
});

async function ipsOf(name: string, count: number, namespace = 'default'): Promise<string[]> {
  return waitFor(`${namespace}/${name} to get ${count} address(es)`, async () => {
    const ips = await serviceIps(cp, name, namespace);
    return ips.length === count ? ips : undefined;
  });
}

async function conditionOfService(name: string, status: string, namespace = 'default'): Promise<{ reason?: string; message?: string }> {
  return waitFor(`${namespace}/${name} condition ${status}`, async () => {
    const c = conditionOf(await getService(cp, name, namespace), SATISFIED);
    return c?.status === status ? c : undefined;
  });
}

async function poolCondition(pool: string, type: string, status: string): Promise<{ reason?: string; message?: string }> {
  return waitFor(`${pool} ${type}=${status}`, async () => {
    const c = conditionOf(await getPool(cp, pool), type);
    return c?.status === status ? c : undefined;
  });
}

describe('seed 001', () => {
  test('the two Services get the first two addresses of the pool, as in the seed', async () => {
    await cp.kubectl(['apply', '-f', `${seedDirectory}/001-apps-and-svcs.yaml`]);
    await cp.kubectl(['apply', '-f', `${seedDirectory}/001-ipam.yaml`]);
    assert.deepEqual(await ipsOf('app1-service', 1), ['172.19.0.240']);
    assert.deepEqual(await ipsOf('app2-service', 1), ['172.19.0.241']);
    const svc = await cp.kubectl(['get', 'svc', '-n', 'default']);
    assert.match(svc, /app1-service\s+LoadBalancer\s+\S+\s+172\.19\.0\.240\s+80:\d+\/TCP/);
    assert.match(svc, /app2-service\s+LoadBalancer\s+\S+\s+172\.19\.0\.241\s+80:\d+\/TCP/);
    const c = await conditionOfService('app1-service', 'True');
    assert.equal(c.reason, 'satisfied');
  });

  test('the pool shows its counts and no conflict in kubectl get', async () => {
    await poolCondition('default-pool', 'cilium.io/IPsUsed', 'Unknown');
    const row = await waitFor('the pool row to show 9 available', async () => {
      const r = (await cp.kubectl(['get', 'ippools', 'default-pool', '--no-headers'])).trim().split(/\s+/);
      return r[3] === '9' ? r : undefined;
    });
    assert.deepEqual(row.slice(0, 4), ['default-pool', 'false', 'False', '9']);
    const pool = await getPool(cp, 'default-pool');
    assert.equal(conditionOf(pool, 'cilium.io/IPsTotal')?.message, '11');
    assert.equal(conditionOf(pool, 'cilium.io/IPsUsed')?.message, '2');
    assert.equal(conditionOf(pool, 'cilium.io/PoolConflict')?.reason, 'resolved');
  });

  test('an Event tells which address was allocated', async () => {
    const events = await waitFor('an IPAllocated event', async () => {
      const out = await cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'regarding.name=app1-service', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { reason: string; note: string; type: string }[] }).items;
      return items.some((e) => e.reason === 'IPAllocated') ? items : undefined;
    });
    const allocated = events.find((e) => e.reason === 'IPAllocated');
    assert.match(allocated?.note ?? '', /172\.19\.0\.240/);
    assert.equal(allocated?.type, 'Normal');
  });

  test('a Service that stops being a LoadBalancer loses its address, condition and pool slot', async () => {
    await cp.kubectl(['patch', 'svc', 'app2-service', '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
    await waitFor('app2-service status to be cleared', async () => {
      const svc = await getService(cp, 'app2-service');
      return (svc.status?.loadBalancer?.ingress ?? []).length === 0 && !conditionOf(svc, SATISFIED) ? true : undefined;
    });
    await waitFor('the pool to count one address in use', async () =>
      conditionOf(await getPool(cp, 'default-pool'), 'cilium.io/IPsUsed')?.message === '1' ? true : undefined);
    await cp.kubectl(['delete', '-f', `${seedDirectory}/001-apps-and-svcs.yaml`, '--wait']);
    await cp.kubectl(['delete', 'ippool', 'default-pool', '--wait']);
  });
});

describe('which Services', () => {
  test('a foreign loadBalancerClass is left completely alone', async () => {
    await apply(cp, poolManifest('p-class', { blocks: [{ cidr: '192.0.2.0/29' }], serviceSelector: { matchLabels: { test: 'class' } } }));
    await apply(cp, serviceManifest('foreign', { labels: { test: 'class' }, loadBalancerClass: 'example.com/other' }));
    await apply(cp, serviceManifest('ours', { labels: { test: 'class' }, loadBalancerClass: 'io.cilium/l2-announcer' }));
    assert.deepEqual(await ipsOf('ours', 1), ['192.0.2.0']);
    const foreign = await getService(cp, 'foreign');
    assert.deepEqual(foreign.status?.loadBalancer ?? {}, {});
    assert.equal(conditionOf(foreign, SATISFIED), undefined);
    assert.ok(!(foreign.metadata.managedFields ?? []).some((m) => m.manager === 'herald-operator'), 'herald wrote to a foreign Service');
  });

  test('ClusterIP Services get nothing', async () => {
    await apply(cp, serviceManifest('plain', { labels: { test: 'class' }, type: 'ClusterIP' }));
    await ipsOf('ours', 1);
    const plain = await getService(cp, 'plain');
    assert.equal(conditionOf(plain, SATISFIED), undefined);
  });
});

describe('pools', () => {
  test('allowFirstLastIPs: No skips the network address; a start with no stop is one address', async () => {
    await apply(cp, poolManifest('p-first', {
      blocks: [{ cidr: '192.0.2.16/30' }, { start: '192.0.2.40' }],
      allowFirstLastIPs: 'No',
      serviceSelector: { matchLabels: { test: 'first' } },
    }));
    for (const n of ['f1', 'f2', 'f3', 'f4']) await apply(cp, serviceManifest(n, { labels: { test: 'first' } }));
    const got = [await ipsOf('f1', 1), await ipsOf('f2', 1), await ipsOf('f3', 1)].map((x) => x[0]);
    assert.deepEqual(got.sort(), ['192.0.2.17', '192.0.2.18', '192.0.2.40']);
    const c = await conditionOfService('f4', 'False');
    assert.equal(c.reason, 'out_of_ips');
    assert.match(c.message ?? '', /p-first/);
  });

  // Names sort in creation order too: two pools created in the same second are ordered by name.
  test('overlapping pools: the newer one conflicts, allocates nothing, and recovers when fixed', async () => {
    await apply(cp, poolManifest('p-a-old', { blocks: [{ cidr: '198.51.100.0/28' }], serviceSelector: { matchLabels: { test: 'conflict' } } }));
    await poolCondition('p-a-old', 'cilium.io/PoolConflict', 'False');
    await apply(cp, poolManifest('p-b-new', { blocks: [{ start: '198.51.100.8', stop: '198.51.100.20' }], serviceSelector: { matchLabels: { test: 'conflict-new' } } }));
    const c = await poolCondition('p-b-new', 'cilium.io/PoolConflict', 'True');
    assert.equal(c.reason, 'cidr_overlap');
    assert.match(c.message ?? '', /p-a-old/);
    const table = await cp.kubectl(['get', 'ippools', 'p-b-new', '--no-headers']);
    // Cilium's own docs print a conflicting pool's count: "red-pool false True 254".
    assert.match(table, /^p-b-new\s+false\s+True\s+13\s/);
    await apply(cp, serviceManifest('c1', { labels: { test: 'conflict-new' } }));
    assert.equal((await conditionOfService('c1', 'False')).reason, 'no_pool');
    await apply(cp, poolManifest('p-b-new', { blocks: [{ start: '198.51.100.32', stop: '198.51.100.40' }], serviceSelector: { matchLabels: { test: 'conflict-new' } } }));
    assert.equal((await poolCondition('p-b-new', 'cilium.io/PoolConflict', 'False')).reason, 'resolved');
    assert.deepEqual(await ipsOf('c1', 1), ['198.51.100.32']);
  });

  test('disabled: keeps what it gave, gives nothing new', async () => {
    await apply(cp, poolManifest('p-dis', { blocks: [{ cidr: '203.0.113.0/28' }], serviceSelector: { matchLabels: { test: 'dis' } } }));
    await apply(cp, serviceManifest('d1', { labels: { test: 'dis' } }));
    assert.deepEqual(await ipsOf('d1', 1), ['203.0.113.0']);
    await apply(cp, poolManifest('p-dis', { blocks: [{ cidr: '203.0.113.0/28' }], serviceSelector: { matchLabels: { test: 'dis' } }, disabled: true }));
    await waitFor('the Disabled column', async () => /p-dis\s+true/.test(await cp.kubectl(['get', 'ippools'])) ? true : undefined);
    await apply(cp, serviceManifest('d2', { labels: { test: 'dis' } }));
    assert.equal((await conditionOfService('d2', 'False')).reason, 'no_pool');
    assert.deepEqual(await serviceIps(cp, 'd1'), ['203.0.113.0']);
    // IPS AVAILABLE is the real count, as Cilium prints it, not 0.
    assert.match(await cp.kubectl(['get', 'ippools', 'p-dis', '--no-headers']), /^p-dis\s+true\s+False\s+15\s/);
  });

  test('a pool edit moves only the Services whose addresses fell out of it', async () => {
    await apply(cp, poolManifest('p-edit', { blocks: [{ start: '203.0.113.32', stop: '203.0.113.35' }], serviceSelector: { matchLabels: { test: 'edit' } } }));
    for (const n of ['e1', 'e2', 'e3']) await apply(cp, serviceManifest(n, { labels: { test: 'edit' } }));
    const before = new Map<string, string>();
    for (const n of ['e1', 'e2', 'e3']) before.set(n, (await ipsOf(n, 1))[0]!);
    const moved = [...before].find(([, ip]) => ip === '203.0.113.32')![0];
    await apply(cp, poolManifest('p-edit', { blocks: [{ start: '203.0.113.33', stop: '203.0.113.36' }], serviceSelector: { matchLabels: { test: 'edit' } } }));
    await waitFor(`${moved} to move`, async () => ((await serviceIps(cp, moved))[0] === '203.0.113.35' ? true : undefined));
    for (const [n, ip] of before) if (n !== moved) assert.deepEqual(await serviceIps(cp, n), [ip], `${n} moved although its address stayed valid`);
  });
});

describe('what Cilium users ran into (issue 12)', () => {
  test('an address one Service names goes to it, not to a Service created with it that asked for none', async () => {
    await apply(cp, poolManifest('p-list', { blocks: [{ cidr: '192.0.2.252/30' }], allowFirstLastIPs: 'Yes', serviceSelector: { matchLabels: { test: 'list' } } }));
    await poolCondition('p-list', 'cilium.io/PoolConflict', 'False');
    // One `kubectl create` of a List: both in the same second, and "api" sorts before "web".
    const list = { apiVersion: 'v1', kind: 'List', items: [
      parse(serviceManifest('web', { labels: { test: 'list' }, annotations: { 'lbipam.cilium.io/ips': '192.0.2.252' } })) as unknown,
      parse(serviceManifest('api', { labels: { test: 'list' } })) as unknown,
    ] };
    await cp.kubectl(['create', '-f', '-'], JSON.stringify(list));
    assert.deepEqual(await ipsOf('web', 1), ['192.0.2.252']);
    const [api] = await ipsOf('api', 1);
    assert.match(api ?? '', /^192\.0\.2\.25[345]$/);
    assert.equal((await conditionOfService('web', 'True')).reason, 'satisfied');
  });

  test('allowFirstLastIPs Yes → No takes back no address in use; only new ones are refused', async () => {
    const spec = (allow: string): Record<string, unknown> => ({ blocks: [{ cidr: '192.0.2.244/30' }], allowFirstLastIPs: allow, serviceSelector: { matchLabels: { test: 'firstlast' } } });
    await apply(cp, poolManifest('p-firstlast', spec('Yes')));
    await apply(cp, serviceManifest('fl-auto', { labels: { test: 'firstlast' } }));
    assert.deepEqual(await ipsOf('fl-auto', 1), ['192.0.2.244']);
    await apply(cp, serviceManifest('fl-asked', { labels: { test: 'firstlast' }, annotations: { 'lbipam.cilium.io/ips': '192.0.2.247' } }));
    assert.deepEqual(await ipsOf('fl-asked', 1), ['192.0.2.247']);
    await apply(cp, poolManifest('p-firstlast', spec('No')));
    // The operator has seen the edit once the pool's total drops from 4 to 2.
    await waitFor('IPsTotal 2', async () => (conditionOf(await getPool(cp, 'p-firstlast'), 'cilium.io/IPsTotal')?.message === '2' ? true : undefined));
    await apply(cp, serviceManifest('fl-new', { labels: { test: 'firstlast' }, annotations: { 'lbipam.cilium.io/ips': '192.0.2.244' } }));
    const refused = await conditionOfService('fl-new', 'False');
    assert.equal(refused.reason, 'already_allocated', 'the address is still fl-auto\'s');
    assert.deepEqual(await serviceIps(cp, 'fl-auto'), ['192.0.2.244']);
    assert.deepEqual(await serviceIps(cp, 'fl-asked'), ['192.0.2.247']);
    assert.equal((await conditionOfService('fl-asked', 'True')).reason, 'satisfied');
    const released = await cp.kubectl(['get', 'events', '-n', 'default', '--field-selector', 'reason=IPReleased', '-o', 'jsonpath={.items[*].involvedObject.name}']);
    assert.doesNotMatch(released, /\bfl-/, 'no address was released');
  });
});

describe('requests, sharing and families', () => {
  before(async () => {
    await apply(cp, poolManifest('p-req', {
      blocks: [{ cidr: '198.51.100.64/28' }, { cidr: '2001:db8:5::/120' }],
      serviceSelector: { matchLabels: { test: 'req' } },
    }));
  });

  test('a requested address is assigned; a taken one and one outside every pool get their own reasons', async () => {
    await apply(cp, serviceManifest('r1', { labels: { test: 'req' }, annotations: { 'lbipam.cilium.io/ips': ' 198.51.100.70 , 198.51.100.70' } }));
    assert.deepEqual(await ipsOf('r1', 1), ['198.51.100.70']);
    await apply(cp, serviceManifest('r2', { labels: { test: 'req' }, annotations: { 'io.cilium/lb-ipam-ips': '198.51.100.70' }, ports: [81] }));
    const taken = await conditionOfService('r2', 'False');
    assert.equal(taken.reason, 'already_allocated');
    assert.match(taken.message ?? '', /198\.51\.100\.70/);
    await apply(cp, serviceManifest('r3', { labels: { test: 'req' }, loadBalancerIP: '192.0.2.200' }));
    const none = await conditionOfService('r3', 'False');
    assert.equal(none.reason, 'no_pool');
    assert.match(none.message ?? '', /192\.0\.2\.200/);
    assert.deepEqual(await serviceIps(cp, 'r3'), []);
  });

  test('compatible Services with one sharing key share one address; an incompatible one does not', async () => {
    const key = { 'lbipam.cilium.io/sharing-key': 'web' };
    await apply(cp, serviceManifest('s-http', { labels: { test: 'req' }, annotations: key, ports: [80] }));
    await apply(cp, serviceManifest('s-https', { labels: { test: 'req' }, annotations: key, ports: [443] }));
    await apply(cp, serviceManifest('s-clash', { labels: { test: 'req' }, annotations: key, ports: [443] }));
    const [a] = await ipsOf('s-http', 1);
    const [b] = await ipsOf('s-https', 1);
    const [c] = await ipsOf('s-clash', 1);
    assert.equal(a, b);
    assert.notEqual(c, a);
    const note = await conditionOfService('s-clash', 'True');
    assert.match(note.message ?? '', /443/);
  });

  test('pool selectors see the pseudo-labels, which a Service cannot fake', async () => {
    await cp.kubectl(['create', 'namespace', 'team-a']);
    await apply(cp, poolManifest('p-team-a', {
      blocks: [{ cidr: '203.0.113.64/30' }],
      serviceSelector: { matchLabels: { 'io.kubernetes.service.namespace': 'team-a' } },
    }));
    await apply(cp, serviceManifest('real', { namespace: 'team-a' }));
    // Claims team-a by label, lives in default: the pseudo-label wins.
    await apply(cp, serviceManifest('faker', { labels: { test: 'none', 'io.kubernetes.service.namespace': 'team-a' } }));
    assert.deepEqual(await ipsOf('real', 1, 'team-a'), ['203.0.113.64']);
    assert.equal((await conditionOfService('faker', 'False')).reason, 'no_pool');
  });

  test('a requested address in a pool that does not select the Service: pool_selector_mismatch', async () => {
    await apply(cp, serviceManifest('wrong-pool', { labels: { test: 'req' }, annotations: { 'lbipam.cilium.io/ips': '203.0.113.65' } }));
    const c = await conditionOfService('wrong-pool', 'False');
    assert.equal(c.reason, 'pool_selector_mismatch');
    assert.match(c.message ?? '', /p-team-a/);
  });

  test('sharing across namespaces needs both sides to agree', async () => {
    await cp.kubectl(['create', 'namespace', 'team-b']);
    const both = (ns: string): Record<string, string> => ({ 'lbipam.cilium.io/sharing-key': 'x', 'lbipam.cilium.io/sharing-cross-namespace': ns });
    await apply(cp, serviceManifest('x-a', { labels: { test: 'req' }, annotations: both('team-b'), ports: [8080] }));
    await apply(cp, serviceManifest('x-b', { namespace: 'team-b', labels: { test: 'req' }, annotations: both('*'), ports: [8081] }));
    await apply(cp, serviceManifest('x-c', { namespace: 'team-b', labels: { test: 'req' }, annotations: { 'lbipam.cilium.io/sharing-key': 'x' }, ports: [8082] }));
    const [a] = await ipsOf('x-a', 1);
    assert.deepEqual(await ipsOf('x-b', 1, 'team-b'), [a]);
    const [c] = await ipsOf('x-c', 1, 'team-b');
    assert.notEqual(c, a, 'x-c did not opt in to cross-namespace sharing');
  });

  test('PreferDualStack gets one address of each family; RequireDualStack without IPv6 is unsatisfied', async () => {
    await apply(cp, serviceManifest('dual', { labels: { test: 'req' }, ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    const ips = await ipsOf('dual', 2);
    assert.match(ips[0]!, /^198\.51\.100\./);
    assert.match(ips[1]!, /^2001:db8:5::/);
    await apply(cp, poolManifest('p-v4only', { blocks: [{ cidr: '192.0.2.128/28' }], serviceSelector: { matchLabels: { test: 'v4only' } } }));
    await apply(cp, serviceManifest('need-dual', { labels: { test: 'v4only' }, ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    // As Cilium: the family it can have, meanwhile, and a False condition naming the one it lacks.
    const c = await conditionOfService('need-dual', 'False');
    assert.equal(c.reason, 'no_pool');
    assert.match(c.message ?? '', /IPv6.*holding 192\.0\.2\.128 meanwhile/);
    assert.deepEqual(await ipsOf('need-dual', 1), ['192.0.2.128']);
    // PreferDualStack is satisfied with one family (Cilium says False/no_pool), and says which it lacks.
    await apply(cp, serviceManifest('prefer-dual', { labels: { test: 'v4only' }, ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    const p = await conditionOfService('prefer-dual', 'True');
    assert.match(p.message ?? '', /^Assigned 192\.0\.2\.129 \(pool p-v4only\); no IPv6 address: no usable pool that selects this Service has IPv6 addresses/);
  });
});

describe('bad input never disturbs other Services', () => {
  test('a pool with an invalid selector key says so in its status and allocates nothing', async () => {
    await apply(cp, poolManifest('p-bad', { blocks: [{ cidr: '192.0.2.64/28' }], serviceSelector: { matchLabels: { 'bad key!': 'x' } } }));
    const c = await poolCondition('p-bad', 'herald.io/PoolInvalid', 'True');
    assert.match(c.message ?? '', /bad key!/);
    // Everything allocated before is still there.
    assert.deepEqual(await serviceIps(cp, 'ours'), ['192.0.2.0']);
    await apply(cp, poolManifest('p-bad', { blocks: [{ cidr: '192.0.2.64/28' }], serviceSelector: { matchLabels: { test: 'bad' } } }));
    await waitFor('PoolInvalid to go away', async () => (conditionOf(await getPool(cp, 'p-bad'), 'herald.io/PoolInvalid') ? undefined : true));
    await apply(cp, serviceManifest('after-fix', { labels: { test: 'bad' } }));
    assert.deepEqual(await ipsOf('after-fix', 1), ['192.0.2.64']);
  });

  test('an unparsable requested address is named in the condition', async () => {
    await apply(cp, serviceManifest('typo', { labels: { test: 'bad' }, annotations: { 'lbipam.cilium.io/ips': '192.0.2.3OO' } }));
    const c = await conditionOfService('typo', 'False');
    assert.match(c.message ?? '', /192\.0\.2\.3OO/);
  });

  test('deleting a pool moves its Services to a pool that still selects them', async () => {
    await apply(cp, poolManifest('p-spare', { blocks: [{ cidr: '192.0.2.96/30' }], serviceSelector: { matchLabels: { test: 'bad' } } }));
    await cp.kubectl(['delete', 'ippool', 'p-bad', '--wait']);
    await waitFor('after-fix to move to p-spare', async () => ((await serviceIps(cp, 'after-fix'))[0] === '192.0.2.96' ? true : undefined));
  });
});

test('the operator reports its work on /metrics', async () => {
  assert.ok((await operator.metric('herald_ipam_allocations_total') ?? 0) >= 10);
  assert.equal(await operator.metric('herald_operator_leader'), 1);
  assert.ok((await operator.metric('herald_status_writes_total', { resource: 'services', result: 'ok' }) ?? 0) >= 10);
  assert.equal((await operator.http('/livez')).status, 200);
});
