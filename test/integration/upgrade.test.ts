/**
 * An upgrade is a fault like any other: a DaemonSet rolling update replaces
 * every agent in turn (SIGTERM, exit, new process, ready, next node), and a
 * Deployment rollout replaces the operator's leader, while a client probes
 * every VIP every 10 ms on fresh connections. No request may fail, and no
 * Service may change its address. The same at scale, with timings, is
 * bench/upgrade.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { L2Lab } from '../support/l2-lab.js';
import { apply, serviceIps, serviceManifest } from '../support/kube-objects.js';
import {
  changedServices, lbSnapshot, reallocationEvents, replaceOperatorLeader, rollAgents, serviceHolders, startVipProbe, waitSteady,
} from '../support/rolling-update.js';
import { resetMidConnection, type VipProbeReport } from '../support/vip-probe.js';
import { sleep, waitFor } from '../support/wait.js';

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

/** The probe's report of the rolling update, for the requirement the protocol does not meet yet (below). */
let rolled: VipProbeReport | undefined;

test('a rolling update of every agent (maxUnavailable 1) leaves no VIP dark, and every VIP ends up answered by its holder', async () => {
  const probe = await startVipProbe(lab, vips);
  await sleep(500);
  const replaced = await rollAgents(lab);
  await waitSteady(lab, LEASES);
  await sleep(500);
  const report = rolled = await probe.stop();
  const moves = report.vips.reduce((n, v) => n + v.sequence.length - 1, 0);
  const resets = report.vips.reduce((n, v) => n + Object.entries(v.errors).filter(([e]) => resetMidConnection(e)).reduce((x, [, c]) => x + c, 0), 0);
  console.log(`rolling update: ${report.vips.reduce((n, v) => n + v.requests, 0)} requests, ${moves} VIP moves, ${resets} connections reset by a move; ` +
    replaced.map((r) => `${r.node} ${r.oldPid ?? '?'} → ${r.newPid ?? '?'}`).join(', '));

  for (const r of replaced) {
    assert.equal(r.exitCode, 0, `the old agent on ${r.node} did not exit cleanly`);
    assert.notEqual(r.newPid, r.oldPid);
  }
  // Nothing timed out or was refused: some node answered every VIP throughout. The only
  // failures allowed here are connections open while their VIP moved (see the next test).
  const dark = failedBy(report, (e) => !resetMidConnection(e));
  if (dark.length > 0) console.log((await lab.evidence('rolling update: requests failed')).text);
  assert.deepEqual(dark, [], 'requests failed other than by a reset mid-connection');
  assertAnswered(report);
  // Each VIP is served, at the end, by the node its Lease names, and that node runs a new agent.
  const holders = await serviceHolders(lab);
  for (const [i, vip] of vips.entries()) {
    const holder = holders.get(LEASES[i] ?? '') ?? '';
    assert.ok(lab.agent(holder) !== undefined, `${vip} is held by ${holder || 'nobody'}, which runs no agent`);
    assert.equal(report.vips[i]?.sequence.at(-1)?.node, holder, `${vip}: the client's last answer came from another node than the holder`);
  }
});

// Issue 10's requirement. A SIGTERM hands each Service over, so its VIP moves
// to another node, and a connection open through the old node at that moment
// is reset by the new one, whose kube-proxy has never seen it: with a request
// every 10 ms, roughly one in five moves catches one. Only an agent that
// restarts in place (keeps its Services over a restart) meets this; see
// docs/benchmarks.md, "Upgrades".
test('a rolling update of every agent fails no request at all', { todo: 'a VIP that moves resets the connections open through its old node' }, () => {
  assert.ok(rolled, 'the rolling update did not run');
  assert.deepEqual(failedBy(rolled), [], 'requests failed');
});

test('an agent is ready only once its node Lease names it: a rolling update goes on to the next node only when this one can take its Services', async () => {
  // Peers count a node live (a candidate for handovers) from its node Lease, which the old agent
  // cleared on SIGTERM. Here the new agent may read Leases but not write them, so it cannot say it is back.
  const node = 'node-c';
  const user = lab.node(node).user;
  await lab.stopAgent(node, 'SIGTERM');
  await lab.cp.kubectl(['delete', 'rolebinding', '-n', 'kube-system', `${user}-user`]);
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
