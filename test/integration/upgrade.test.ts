/**
 * An upgrade is a fault like any other: a DaemonSet rolling update replaces
 * every agent in turn (SIGTERM, exit, new process, ready, next node), and a
 * Deployment rollout replaces the operator's leader, while a client probes
 * every VIP every 10 ms on fresh connections. No request may fail, no VIP
 * may move (each agent restarts in place), and no Service may change its
 * address. A node that leaves (NotReady) still hands over at once, and an
 * agent that restarts in place but never comes back loses its VIPs once its
 * grace is over. The same at scale, with timings, is
 * bench/upgrade.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { L2Lab } from '../../harness/l2-lab.js';
import { apply, serviceIps, serviceManifest } from '../../harness/kube-objects.js';
import {
  changedServices, lbSnapshot, reallocationEvents, replaceOperatorLeader, rollAgents, serviceHolders, startVipProbe, waitSteady,
} from '../../harness/rolling-update.js';
import { resetMidConnection, type VipProbeReport } from '../../harness/vip-probe.js';
import { sleep, waitFor } from '../../harness/wait.js';

let lab: L2Lab;
/** Four IPv4 Services (ARP) and one IPv6 single-stack Service (NDP). */
const SERVICES = ['upg-0', 'upg-1', 'upg-2', 'upg-3', 'upg-v6'];
const LEASES = SERVICES.map((s) => `cilium-l2announce-default-${s}`);
let vips: string[] = [];

before(async () => {
  lab = await L2Lab.start({ nodes: 3, operatorReplicas: 2 });
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: upgrade-pool}',
    'spec: {blocks: [{start: 192.0.2.200, stop: 192.0.2.219}, {cidr: "2001:db8::1:0/112"}]}',
  ].join('\n'));
  await apply(lab.cp, 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: all}\nspec: {interfaces: ["^eth0$"], loadBalancerIPs: true}\n');
  for (const n of lab.nodes) await lab.startAgent(n.name);
  await lab.cp.kubectl(['create', '-f', '-'], SERVICES.map((s) => serviceManifest(s, s.endsWith('v6') ? { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] } : {})).join('---\n'));
  vips = await waitFor('every Service to get its address', async () => {
    const ips = await Promise.all(SERVICES.map(async (s) => (await serviceIps(lab.cp, s)).at(0)));
    const known = ips.filter((ip) => ip !== undefined);
    return known.length === SERVICES.length ? known : undefined;
  }, 60_000, 200);
  await waitSteady(lab, LEASES);
  // Past the first gratuitous bursts, and every VIP answers before the probe starts.
  await sleep(3000);
  for (const vip of vips) assert.match(await lab.curl(vip), /^node-[abc]$/);
});

after(async () => {
  await lab.stop();
});

/** Failed requests, by VIP, with the first few, for an assertion message. */
function failedBy(report: VipProbeReport, keep: (error: string) => boolean = () => true): { vip: string; errors: Record<string, number> }[] {
  return report.vips
    .map((v) => ({ vip: v.vip, errors: Object.fromEntries(Object.entries(v.errors).filter(([e]) => keep(e))) }))
    .filter((v) => Object.keys(v.errors).length > 0);
}

function assertAnswered(report: VipProbeReport): void {
  for (const v of report.vips) assert.ok(v.requests > 0 && Object.keys(v.answers).length > 0, `${v.vip} was never answered`);
}

/** The node Lease's holder and restart annotation. */
async function nodeLease(node: string): Promise<{ holder: string; restarting: string }> {
  const out = await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', `herald-agent-${node}`, '-o', 'json']);
  const l = JSON.parse(out) as { metadata: { annotations?: Record<string, string> }; spec?: { holderIdentity?: string } };
  return { holder: l.spec?.holderIdentity ?? '', restarting: l.metadata.annotations?.['herald.io/restarting-until'] ?? '' };
}

test('a rolling update of every agent fails no request at all and moves no VIP: each agent restarts in place', async () => {
  const holdersBefore = await serviceHolders(lab);
  const probe = await startVipProbe(lab, vips);
  await sleep(500);
  const replaced = await rollAgents(lab);
  await waitSteady(lab, LEASES);
  await sleep(500);
  const report = await probe.stop();
  const moves = report.vips.reduce((n, v) => n + v.sequence.length - 1, 0);
  console.log(`rolling update: ${report.vips.reduce((n, v) => n + v.requests, 0)} requests, ${moves} VIP moves; ` +
    replaced.map((r) => `${r.node} ${r.oldPid ?? '?'} → ${r.newPid ?? '?'}`).join(', '));

  for (const r of replaced) {
    assert.equal(r.exitCode, 0, `the old agent on ${r.node} did not exit cleanly`);
    assert.notEqual(r.newPid, r.oldPid);
  }
  const failed = failedBy(report);
  if (failed.length > 0) console.log((await lab.evidence('rolling update: requests failed')).text);
  assert.deepEqual(failed, [], 'requests failed');
  assertAnswered(report);
  assert.equal(moves, 0, 'a VIP moved');
  // No Service Lease changed hands, every VIP is served by its holder, and the new agents cleared the restart annotation.
  const holders = await serviceHolders(lab);
  for (const l of LEASES) assert.equal(holders.get(l), holdersBefore.get(l), `${l} changed hands`);
  for (const [i, vip] of vips.entries()) assert.equal(report.vips[i]?.sequence.at(-1)?.node, holders.get(LEASES[i] ?? ''), `${vip}: answered by another node than the holder`);
  for (const n of lab.nodes) assert.deepEqual(await nodeLease(n.name), { holder: n.name, restarting: '' }, `${n.name}'s node Lease`);
});

test('an agent SIGTERMed while its node shuts down (NotReady) hands over at once: its VIPs move, none goes dark', async () => {
  const node = await busiest();
  await lab.setNodeReady(node, false);
  const probe = await startVipProbe(lab, vips);
  await sleep(500);
  try {
    assert.equal(await lab.stopAgent(node, 'SIGTERM'), 0);
    // Handed over, and the node Lease cleared: nothing waited for a restart.
    assert.deepEqual(await nodeLease(node), { holder: '', restarting: '' });
    const holders = await serviceHolders(lab);
    for (const l of LEASES) assert.notEqual(holders.get(l), node, `${l} still held by ${node}`);
    await sleep(500);
  } finally {
    await lab.setNodeReady(node, true);
  }
  const report = await probe.stop();
  const dark = failedBy(report, (e) => !resetMidConnection(e));
  if (dark.length > 0) console.log((await lab.evidence('handover on NotReady: requests failed')).text);
  assert.deepEqual(dark, [], 'requests failed other than by a reset mid-connection');
  await lab.startAgent(node);
  await waitSteady(lab, LEASES);
});

test('an agent SIGTERMed in place that never comes back: its VIPs move once its grace is over', async () => {
  const node = await busiest();
  // The agent's own --restart-grace is what its peers wait for: 2 s here (10 s by default).
  await lab.stopAgent(node, 'SIGTERM');
  await lab.startAgent(node, ['--restart-grace=2s']);
  await waitSteady(lab, LEASES);
  const mine = [...(await serviceHolders(lab))].filter(([l, h]) => LEASES.includes(l) && h === node).map(([l]) => l);
  assert.ok(mine.length > 0, `${node} holds nothing`);
  assert.equal(await lab.stopAgent(node, 'SIGTERM'), 0);
  const lease = await nodeLease(node);
  assert.equal(lease.holder, node, 'restarting in place keeps the node Lease');
  assert.ok(Number.isFinite(Date.parse(lease.restarting)), `restart deadline: ${lease.restarting}`);
  // Within the grace nothing moves (well before its end)...
  const held = await serviceHolders(lab);
  for (const l of mine) assert.equal(held.get(l), node, `${l} moved during the grace`);
  // ...after it, the node is condemned on the LAN and its Services move to live nodes, which answer.
  await waitFor(`${node}'s Services to move`, async () => {
    const h = await serviceHolders(lab);
    return mine.every((l) => { const x = h.get(l) ?? ''; return x !== node && lab.agent(x) !== undefined; }) ? true : undefined;
  }, 30_000, 100);
  for (const [i, vip] of vips.entries()) if (mine.includes(LEASES[i] ?? '')) assert.notEqual(await lab.curl(vip), node, `${vip} still answered by ${node}`);
  await lab.startAgent(node);
  await waitSteady(lab, LEASES);
});

/** The node holding the most of our Services. */
async function busiest(): Promise<string> {
  const holders = await serviceHolders(lab);
  const count = new Map<string, number>();
  for (const l of LEASES) { const h = holders.get(l) ?? ''; count.set(h, (count.get(h) ?? 0) + 1); }
  return [...count].filter(([h]) => h !== '').sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'node-a';
}

test('an agent is ready only once its node Lease names it: a rolling update goes on to the next node only when this one can take its Services', async () => {
  // Peers count a node live (a candidate for handovers) from its node Lease, which the old agent
  // cleared on SIGTERM. Here the new agent may read Leases but not write them, so it cannot say it is back.
  const node = 'node-c';
  // A node shutting down: the agent hands over and clears its node Lease (a restart in place would keep it).
  await lab.setNodeReady(node, false);
  await lab.stopAgent(node, 'SIGTERM');
  await lab.setNodeReady(node, true);
  // The new agent as a user of its own (the ServiceAccount's rights are every node's), with the agent's rights but Leases read-only.
  const user = await lab.setAgentCredentials(node, 'user');
  await lab.cp.kubectl(['create', 'clusterrolebinding', `${user}-user`, '--clusterrole=herald-agent', `--user=${user}`]);
  await lab.cp.kubectl(['create', 'role', 'lease-reader', '-n', 'kube-system', '--verb=get,list,watch', '--resource=leases.coordination.k8s.io']);
  await lab.cp.kubectl(['create', 'rolebinding', `${user}-reader`, '-n', 'kube-system', '--role=lease-reader', `--user=${user}`]);
  try {
    const agent = await lab.startAgent(node, [], { waitReady: false });
    await agent.waitFor(/agent synced; announcing/, 30_000);
    await sleep(1000);
    const ready = await lab.agentHttp(node, '/readyz');
    assert.equal(ready.status, 503, `ready although its node Lease does not name it: ${ready.body}`);
    for (const peer of ['node-a', 'node-b']) {
      const st = JSON.parse((await lab.agentHttp(peer, '/status')).body) as { liveNodes: string[] };
      assert.ok(!st.liveNodes.includes(node), `${peer} counts ${node} live already`);
    }
  } finally {
    await lab.cp.kubectl(['delete', 'rolebinding', '-n', 'kube-system', `${user}-reader`]);
    await lab.cp.kubectl(['delete', 'role', '-n', 'kube-system', 'lease-reader']);
    await lab.cp.kubectl(['create', 'rolebinding', `${user}-user`, '-n', 'kube-system', '--role=herald-agent-leases', `--user=${user}`]);
  }
  // Allowed again, it writes its node Lease (retrying with backoff) and only then is ready.
  await waitFor(`${node} to be ready`, async () => ((await lab.agentHttp(node, '/readyz')).status === 200 ? true : undefined), 30_000, 20);
  const holder = (await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', `herald-agent-${node}`, '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
  assert.equal(holder, node, 'ready, but its node Lease does not name it');
  await waitSteady(lab, LEASES);
  await lab.setAgentCredentials(node, 'token');
});

test('replacing the operator leader leaves every address in place, and the new leader allocates afresh', async () => {
  const before = await lbSnapshot(lab);
  const probe = await startVipProbe(lab, vips);
  await sleep(500);
  const op = await replaceOperatorLeader(lab, 'operator-2');
  assert.equal(op.exitCode, 0, 'the old leader did not exit cleanly');
  assert.notEqual(op.newLeader, op.oldLeader);
  const leader = lab.operators.get(op.newLeader);
  assert.ok(leader, 'the new leader does not run');
  // It has imported every address and reconciled: every Service satisfied, none rewritten.
  await waitFor('the new leader to count every Service satisfied', async () =>
    ((await leader.metric('herald_ipam_services', { satisfied: 'true' })) === SERVICES.length ? true : undefined), 30_000, 100);
  await sleep(1000);
  const report = await probe.stop();

  const failed = failedBy(report);
  if (failed.length > 0) console.log((await lab.evidence('operator leader replaced: requests failed')).text);
  assert.deepEqual(failed, [], 'requests failed while the operator leader was replaced');
  assertAnswered(report);
  assert.deepEqual(changedServices(before, await lbSnapshot(lab)), [], 'Services changed their address or condition');
  assert.deepEqual(await reallocationEvents(lab, op.sigtermAt), [], 'the operator allocated or released addresses');
  assert.equal((await leader.metric('herald_status_writes_total', { resource: 'services', result: 'ok' })) ?? 0, 0, 'the new leader rewrote Service status');
  assert.equal(await lab.operatorLeader(), op.newLeader);

  // The new leader allocates, and not an address that is in use.
  await lab.cp.kubectl(['create', '-f', '-'], serviceManifest('upg-after'));
  const [fresh] = await waitFor('upg-after to get an address', async () => {
    const ips = await serviceIps(lab.cp, 'upg-after');
    return ips.length > 0 ? ips : undefined;
  }, 30_000, 200);
  assert.ok(fresh !== undefined && !vips.includes(fresh), `upg-after got ${fresh ?? 'nothing'}, in use by another Service`);
  assert.equal(await lab.curl(fresh).then((n) => /^node-[abc]$/.test(n)), true);
});
