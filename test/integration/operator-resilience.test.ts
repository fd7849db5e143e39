/**
 * LB-IPAM never loses an address: operator crashes mid-burst, two replicas,
 * an apiserver restart, and status writes that fail until RBAC allows them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../harness/control-plane.js';
import { operatorUser, startOperator } from '../../harness/operator-setup.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { apply, poolManifest, serviceManifest } from '../../harness/kube-objects.js';
import type { ServiceObject } from '../../src/kube/objects.js';
import { waitFor } from '../../harness/wait.js';

let cp: ControlPlane;
let kubeconfig: string;
const running: HeraldProcess[] = [];

before(async () => {
  cp = await ControlPlane.start();
  kubeconfig = await operatorUser(cp);
  await apply(cp, poolManifest('burst', { blocks: [{ cidr: '198.51.100.0/24' }, { cidr: '2001:db8:77::/64' }] }));
});

after(async () => {
  for (const p of running) await p.proc.stop();
  await cp.stop();
});

async function operator(name: string, user = kubeconfig, extra: string[] = []): Promise<HeraldProcess> {
  const p = await startOperator(cp, user, name, ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms', ...extra]);
  running.push(p);
  return p;
}

/** namespace/name -> addresses, for every LoadBalancer Service. */
async function assignments(): Promise<Map<string, string[]>> {
  const [status, body] = await cp.get('/api/v1/services');
  assert.equal(status, 200, body);
  const list = JSON.parse(body) as { items: ServiceObject[] };
  return new Map(list.items
    .filter((s) => s.spec?.type === 'LoadBalancer')
    .map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')]));
}

function assertNoDuplicates(a: Map<string, string[]>): void {
  const seen = new Map<string, string>();
  for (const [svc, ips] of a) {
    for (const ip of ips) {
      assert.ok(!seen.has(ip), `${ip} is held by ${seen.get(ip)} and ${svc}`);
      seen.set(ip, svc);
    }
  }
}

async function allSatisfied(count: number): Promise<Map<string, string[]>> {
  return waitFor(`${count} Services with addresses`, async () => {
    const a = await assignments();
    return a.size === count && [...a.values()].every((ips) => ips.length > 0) ? a : undefined;
  }, 60_000, 250);
}

function manyServices(prefix: string, n: number): string {
  return Array.from({ length: n }, (_, i) => serviceManifest(`${prefix}-${i}`, i % 5 === 0 ? { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] } : {})).join('---\n');
}

function assertUnchanged(before: Map<string, string[]>, after: Map<string, string[]>): void {
  for (const [svc, ips] of before) {
    if (ips.length === 0) continue;
    assert.deepEqual(after.get(svc), ips, `${svc} changed its addresses`);
  }
}

test('an operator killed mid-burst: after a restart no Service changes its address', async () => {
  // One write at a time, so the burst is still being written when the kill comes.
  const first = await operator('op-a', kubeconfig, ['--write-concurrency=1']);
  // kubectl creates them one by one while the operator allocates: kill it in the middle.
  const creating = apply(cp, manyServices('burst', 200));
  await waitFor('some Services to have addresses', async () => {
    const n = [...(await assignments()).values()].filter((ips) => ips.length > 0).length;
    return n >= 10 ? n : undefined;
  }, 30_000, 20);
  first.proc.killGroup('SIGKILL');
  await first.proc.exited;
  await creating;
  const before = await assignments();
  const partial = [...before.values()].filter((ips) => ips.length > 0).length;
  assert.ok(partial > 0 && partial < 200, `killed with ${partial} of 200 Services written: not mid-burst`);
  // A new replica must wait out the dead one's lease, then import and finish.
  await operator('op-b');
  const after = await allSatisfied(200);
  assertUnchanged(before, after);
  assertNoDuplicates(after);
});

test('two replicas: only the leader allocates; SIGTERM hands over at once and nothing moves', async () => {
  const c = await operator('op-c');
  const leaders = async (): Promise<HeraldProcess[]> => {
    const live = running.filter((p) => p.proc.running);
    const flags = await Promise.all(live.map((p) => p.metric('herald_operator_leader')));
    return live.filter((_, i) => flags[i] === 1);
  };
  const [leader] = await waitFor('one leader', async () => ((await leaders()).length === 1 ? leaders() : undefined));
  const standby = leader === c ? running.find((p) => p.proc.running && p !== c)! : c;
  await apply(cp, manyServices('pair', 30));
  const before = await allSatisfied(230);
  assertNoDuplicates(before);
  assert.equal((await standby.metric('herald_ipam_allocations_total')) ?? 0, 0, 'the standby allocated');
  assert.equal((await standby.metric('herald_status_writes_total', { resource: 'services', result: 'ok' })) ?? 0, 0, 'the standby wrote status');
  assert.equal((await leaders()).length, 1, 'two leaders at once');

  const handoverStart = Date.now();
  await leader!.proc.stop();
  await waitFor('the standby to lead', async () => ((await standby.metric('herald_operator_leader')) === 1 ? true : undefined), 10_000, 50);
  const handover = Date.now() - handoverStart;
  // Released, not expired: well under the 4 s lease duration.
  assert.ok(handover < 4000, `handover took ${handover} ms`);
  await apply(cp, manyServices('after-handover', 5));
  const after = await allSatisfied(235);
  assertUnchanged(before, after);
  assertNoDuplicates(after);
});

test('an apiserver restart changes nothing, and allocation goes on afterwards', async () => {
  const before = await assignments();
  await cp.stopApiserver();
  await cp.startApiserver();
  await apply(cp, serviceManifest('after-restart'));
  const after = await allSatisfied(before.size + 1);
  assertUnchanged(before, after);
  assertNoDuplicates(after);
});

test('a status write that fails is retried until it lands', async () => {
  for (const p of running) await p.proc.stop();
  // A user that may do everything but write Service status.
  await cp.kubectl(['create', 'clusterrole', 'ipam-no-status', '--verb=get,list,watch', '--resource=services,ciliumloadbalancerippools.cilium.io']);
  await cp.kubectl(['create', 'clusterrole', 'ipam-status', '--verb=patch', '--resource=services/status,ciliumloadbalancerippools.cilium.io/status']);
  await cp.kubectl(['create', 'clusterrolebinding', 'limited-read', '--clusterrole=ipam-no-status', '--user=limited']);
  await cp.kubectl(['create', 'rolebinding', 'limited-lease', '-n', 'kube-system', '--role=herald-operator-leader-election', '--user=limited']);
  const limited = await operator('op-limited', await cp.kubeconfigFor('limited'));
  await apply(cp, serviceManifest('retried'));
  await waitFor('failed status writes', async () =>
    ((await limited.metric('herald_status_writes_total', { resource: 'services', result: 'error' })) ?? 0) >= 2 ? true : undefined, 30_000, 200);
  assert.deepEqual((await assignments()).get('default/retried'), []);
  await cp.kubectl(['create', 'clusterrolebinding', 'limited-status', '--clusterrole=ipam-status', '--user=limited']);
  await waitFor('the retried write to land', async () => (((await assignments()).get('default/retried') ?? []).length === 1 ? true : undefined), 60_000, 250);
  assertNoDuplicates(await assignments());
});
