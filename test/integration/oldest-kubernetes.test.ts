/**
 * The oldest Kubernetes herald supports (README: 1.30, as Cilium 1.18 does):
 * herald's CRDs install on its kube-apiserver (built from k8s.io/kubernetes
 * v1.30 by scripts/ensure-controlplane.sh), the seed manifests apply, and
 * seed 001 works end to end in the L2 lab: addresses from herald operator,
 * announced by herald agent, curl answered; the agents run there as on
 * newer ones, with Node-bound ServiceAccount tokens under the chart's
 * admission policy (1.30 binds tokens to Nodes behind a feature gate).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serviceIps, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { L2Lab } from '../../harness/l2-lab.js';
import { seedDirectory } from '../../harness/paths.js';
import { seed001Pool } from '../../harness/seeds.js';
import { waitFor } from '../../harness/wait.js';

const NODES = ['node-a', 'node-b', 'node-c'];
let lab: L2Lab;

before(async () => {
  lab = await L2Lab.start({ nodes: 3, controlPlane: { apiserver: 'oldest' } });
  for (const n of NODES) await lab.startAgent(n);
});

after(async () => {
  await lab.stop();
});

test('the apiserver is Kubernetes 1.30, and herald\'s CRDs are established there', async () => {
  const version = JSON.parse(await lab.cp.kubectl(['get', '--raw', '/version'])) as { major: string; minor: string; gitVersion: string };
  assert.equal(`${version.major}.${version.minor}`, '1.30', version.gitVersion);
  const crds = await lab.cp.kubectl(['get', 'crd', 'ciliumloadbalancerippools.cilium.io', 'ciliuml2announcementpolicies.cilium.io',
    '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status} {end}']);
  assert.equal(crds.trim(), 'ciliumloadbalancerippools.cilium.io=True ciliuml2announcementpolicies.cilium.io=True');
});

test('seed 001 end to end: addresses, announcers, curl', async () => {
  await lab.cp.kubectl(['apply', '-f', '-'], seed001Pool());
  for (const file of ['001-l2announce.yaml', '001-apps-and-svcs.yaml', '003-rendered.yaml', '004-layer2-policy.yaml']) {
    await lab.cp.kubectl(['apply', '-f', `${seedDirectory}/${file}`]);
  }
  for (const svc of ['app1-service', 'app2-service']) {
    const vip = await waitFor(`${svc} to get an address`, async () => (await serviceIps(lab.cp, svc))[0], 30_000, 200);
    assert.match(vip, /^192\.0\.2\.(24\d|250)$/);
    const holder = await waitFor(`a node to announce ${svc}`, async () =>
      (await serviceLeaseHolder(lab.cp, svc)) || undefined,
    30_000, 200);
    assert.ok(NODES.includes(holder));
    assert.equal(await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 30_000, 200), holder);
  }
  // The printer columns Cilium users read work on 1.30 too.
  assert.match(await lab.cp.kubectl(['get', 'ippools', 'default-pool', '--no-headers']), /^default-pool\s+false\s+False\s+9\s/);
});

test('on 1.30 too, the agents\' tokens name their nodes and the admission policy holds them to herald\'s Leases', async () => {
  const who = JSON.parse(await lab.kubectlAs('node-a', ['auth', 'whoami', '-o', 'json'])) as { status: { userInfo: { username: string; extra?: Record<string, string[]> } } };
  assert.equal(who.status.userInfo.username, 'system:serviceaccount:kube-system:herald-agent');
  assert.deepEqual(who.status.userInfo.extra?.['authentication.kubernetes.io/node-name'], ['node-a']);
  const file = join(lab.cp.dir, 'lease-kube-scheduler.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kube-scheduler', namespace: 'kube-system' }, spec: { holderIdentity: 'node-a' } }));
  await assert.rejects(lab.kubectlAs('node-a', ['create', '--dry-run=server', '-f', file]), /ValidatingAdmissionPolicy 'herald-agent-leases'.*may write only herald's Leases/s);
});
