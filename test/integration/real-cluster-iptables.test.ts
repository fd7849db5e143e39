/**
 * The real-cluster lab with kube-proxy in iptables mode
 * (L2Lab.start({ cluster: 'real', proxyMode: 'iptables' })): seed 001's
 * Service is carried from the client to a pod by kube-proxy's iptables rules.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serviceIps, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { L2Lab } from '../../harness/l2-lab.js';
import { seedDirectory } from '../../harness/paths.js';
import { waitFor } from '../../harness/wait.js';
import { seed001Pool } from '../../harness/seeds.js';

let lab: L2Lab;

before(async () => {
  lab = await L2Lab.start({ nodes: 2, cluster: 'real', proxyMode: 'iptables' });
  for (const n of lab.nodes) await lab.startAgent(n.name);
});

after(async () => {
  await lab.stop();
});

test('iptables mode: curl from the client is answered by a pod through kube-proxy\'s iptables rules', async () => {
  const pool = seed001Pool();
  await lab.cp.kubectl(['apply', '-f', '-'], pool);
  await lab.cp.kubectl(['apply', '-f', `${seedDirectory}/001-l2announce.yaml`]);
  await lab.cp.kubectl(['apply', '-f', `${seedDirectory}/001-apps-and-svcs.yaml`]);
  const vip = await waitFor('app1-service to get an address', async () => (await serviceIps(lab.cp, 'app1-service'))[0], 30_000, 200);
  const holder = await waitFor('a node to announce app1-service', async () =>
    (await serviceLeaseHolder(lab.cp, 'app1-service')) || undefined,
  30_000, 200);
  const answer = await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 60_000, 300);
  assert.match(answer, /^app1-deployment-[a-z0-9]+-[a-z0-9]+ on node-[ab]$/);
  const nat = (await lab.bed.exec(lab.node(holder).host, ['iptables-save', '-t', 'nat'])).stdout;
  assert.match(nat, new RegExp(`-A KUBE-SERVICES -d ${vip.replaceAll('.', '\\.')}/32 .*default/app1-service loadbalancer IP`), `kube-proxy's rule for ${vip} in ${holder}`);
  assert.ok(lab.clusterRunning, 'kube-controller-manager, kube-scheduler and every kube-proxy still run');
});
