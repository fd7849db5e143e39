/**
 * `herald agent` against what happens on the wire rather than in the API:
 * a host that claims a VIP with its own MAC (an ARP spoofer, or a host
 * configured with the address), and a node whose responder cannot answer.
 * Three node namespaces with their agents, a client, a spoofer namespace on
 * the same LAN, a real control plane and the operator (harness/l2-lab.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { L2Lab } from '../../harness/l2-lab.js';
import type { Host } from '../../harness/testbed.js';
import { arpingReplies } from '../../harness/testbed.js';
import { apply, serviceIps, serviceManifest, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { waitFor, sleep } from '../../harness/wait.js';
import { rankCandidates } from '../../src/core/l2/rendezvous.js';
import { ECHO_BURST, ECHO_PER_SECOND, REANNOUNCE_MIN_MS } from '../../src/l2/responder.js';
import { dashboardExprs, metricNames, ruleExprs } from '../support/monitoring.js';

const spoofer = fileURLToPath(new URL('../../harness/spoofer.js', import.meta.url));
const NODES = ['node-a', 'node-b', 'node-c'];
const SPOOFER_MAC = '02:48:52:00:ee:01';
let lab: L2Lab;
let spoof: Host;

before(async () => {
  lab = await L2Lab.start({ nodes: 3 });
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: lan-pool}',
    'spec: {blocks: [{start: 192.0.2.240, stop: 192.0.2.250}, {start: "2001:db8::f0", stop: "2001:db8::fa"}]}',
  ].join('\n'));
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: l2}',
    'spec:', '  serviceSelector: {matchLabels: {app: myapp}}', '  interfaces: ["^eth[0-9]+"]', '  loadBalancerIPs: true',
  ].join('\n'));
  for (const n of NODES) await lab.startAgent(n);
  // Not a node: no agent, no node Lease, so its MAC is no herald node's.
  spoof = await lab.bed.addHost('spoof');
  await lab.bed.addLanPort(spoof, 'eth0', SPOOFER_MAC);
});

after(async () => {
  await lab.stop();
});

async function vipsOf(svc: string, count: number): Promise<string[]> {
  return waitFor(`${svc} to get its addresses`, async () => {
    const ips = await serviceIps(lab.cp, svc);
    return ips.length === count ? ips : undefined;
  });
}

async function waitHolder(svc: string, pred: (h: string) => boolean = (h) => h !== ''): Promise<string> {
  return waitFor(`a holder for ${svc}`, async () => {
    const h = await serviceLeaseHolder(lab.cp, svc);
    return pred(h) ? h : undefined;
  }, 20_000, 50);
}

async function metric(node: string, name: string): Promise<number> {
  const body = (await lab.agentHttp(node, '/metrics')).body;
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

describe('a MAC that is no herald node\'s claims a VIP', () => {
  test('the holder keeps answering, takes the address back after each claim, and says so in an Event and a metric', async () => {
    await apply(lab.cp, serviceManifest('defended', { labels: { app: 'myapp' }, ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    const [v4, v6] = await vipsOf('defended', 2);
    const holder = await waitHolder('defended');
    const holderMac = lab.macOf(holder);
    // The client talks to both addresses, so it has neighbour entries to lose.
    for (const vip of [v4!, v6!]) assert.equal(await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 10_000, 100), holder);
    const conflictsBefore = await metric(holder, 'herald_l2_conflicts_seen_total');

    // A claim every 100 ms for 10 s, gratuitous ARP and an unsolicited NA each time.
    const run = lab.bed.exec(spoof, [process.execPath, spoofer, 'eth0', v4!, v6!, holderMac, '100', '10000'], { timeoutMs: 60_000 });
    // Meanwhile, where the client's entries point.
    const samples: { v4: string | undefined; v6: string | undefined }[] = [];
    const spoofing = { done: false };
    const stop = () => { spoofing.done = true; };
    void run.then(stop, stop);
    while (!spoofing.done) {
      samples.push({ v4: (await lab.bed.neighbour(lab.bed.client, v4!))?.mac, v6: (await lab.bed.neighbour(lab.bed.client, v6!))?.mac });
      await sleep(200);
    }
    const { spoofs, answers } = JSON.parse((await run).stdout) as { spoofs: { t: number; family: 4 | 6 }[]; answers: { t: number; family: 4 | 6 }[] };

    // Each claim is answered by the holder: how long after it did the next frame from the holder come?
    const delays = (family: 4 | 6) => spoofs.filter((s) => s.family === family).map((s) => {
      const next = answers.find((a) => a.family === family && a.t >= s.t);
      return next === undefined ? Number.POSITIVE_INFINITY : Math.round((next.t - s.t) * 10) / 10;
    }).sort((a, b) => a - b);
    for (const family of [4, 6] as const) {
      const d = delays(family);
      console.log(`family ${family}: ${d.length} claims, holder's answer after p50 ${quantile(d, 0.5)} / p95 ${quantile(d, 0.95)} / max ${d.at(-1)} ms (re-announcement interval ${REANNOUNCE_MIN_MS} ms)`);
      assert.equal(d.length, 100);
      // Within one re-announcement interval, on a loaded two-core machine with slack for the spoofer's own timers.
      assert.ok(quantile(d, 0.5) <= REANNOUNCE_MIN_MS, `median ${quantile(d, 0.5)} ms`);
      assert.ok(quantile(d, 0.95) < 100, `p95 ${quantile(d, 0.95)} ms: answers must come before the next claim`);
      assert.ok(d.every((x) => x < 1000), `an unanswered claim: ${d.at(-1)}`);
    }
    const heldBy = (k: 'v4' | 'v6') => samples.filter((s) => s[k] === holderMac).length;
    console.log(`client's entries at the holder's MAC in ${heldBy('v4')}/${samples.length} (IPv4) and ${heldBy('v6')}/${samples.length} (IPv6) samples while under attack`);

    // After the last claim the client's entries are the holder's again, and the Lease never moved.
    assert.equal((await lab.bed.neighbour(lab.bed.client, v4!))?.mac, holderMac);
    assert.equal((await lab.bed.neighbour(lab.bed.client, v6!))?.mac, holderMac);
    assert.equal(await serviceLeaseHolder(lab.cp, 'defended'), holder);
    const r = await lab.bed.execStatus(lab.bed.client, ['arping', '-c', '2', '-w', '3', '-I', 'eth0', v4!]);
    assert.deepEqual([...new Set(arpingReplies(r.stdout))], [holderMac]);

    // Every frame counted; the log and the API hear of it a few times, not 300.
    assert.ok(await metric(holder, 'herald_l2_conflicts_seen_total') - conflictsBefore >= 300);
    assert.ok(await metric(holder, 'herald_l2_reannouncements_total') > 0);
    const claims = await metric(holder, 'herald_agent_foreign_mac_claims_total');
    assert.ok(claims >= 2 && claims <= 40, `foreign claims reported: ${claims}`);
    const events = await waitFor('a WireConflict Event', async () => {
      const out = await lab.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'regarding.name=defended,reason=WireConflict', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { note: string; type: string }[] }).items;
      return items.length >= 2 ? items : undefined;
    }, 10_000, 200);
    assert.ok(events.every((e) => e.type === 'Warning' && e.note.includes(SPOOFER_MAC) && e.note.includes(holder)));
    assert.ok(events.some((e) => e.note.includes(v4!)) && events.some((e) => e.note.includes(v6!)));
    assert.equal(events.length, 2, 'one Event per address and MAC: deduplicated');
  });
});

describe('a node whose responder cannot answer', () => {
  test('is no candidate: the next node takes the Service, and the node says why on /status until it can again', async () => {
    const svc = 'unfit';
    const [top, second] = rankCandidates(`default/${svc}`, NODES);
    // The kernel refuses every socket filter in top's namespace: a socket there cannot be opened (ENOMEM).
    // Its liveness sockets are open already, so it still takes part on the LAN.
    const host = lab.node(top!).host;
    const before = (await lab.bed.exec(host, ['sysctl', '-n', 'net.core.optmem_max'])).stdout.trim();
    await lab.bed.exec(host, ['sysctl', '-qw', 'net.core.optmem_max=64']);
    try {
      await apply(lab.cp, serviceManifest(svc, { labels: { app: 'myapp' } }));
      const [vip] = await vipsOf(svc, 1);
      const holder = await waitHolder(svc, (h) => h === second);
      assert.equal(holder, second);
      const status = JSON.parse((await lab.agentHttp(top!, '/status')).body) as { unfitLinks: Record<string, string> };
      assert.match(status.unfitLinks.eth0 ?? '', /cannot open a packet socket.*ENOMEM/);
      assert.equal(await waitFor(`curl ${vip}`, async () => lab.curl(vip!).catch(() => undefined), 10_000, 100), second);
      const r = await lab.bed.execStatus(lab.bed.client, ['arping', '-c', '2', '-w', '3', '-I', 'eth0', vip!]);
      assert.deepEqual([...new Set(arpingReplies(r.stdout))], [lab.macOf(second!)]);
    } finally {
      await lab.bed.exec(host, ['sysctl', '-qw', `net.core.optmem_max=${before}`]);
    }
    // Probed every 2 s: fit again once a socket opens.
    await waitFor(`${top} fit again`, async () => {
      const s = JSON.parse((await lab.agentHttp(top!, '/status')).body) as { unfitLinks: Record<string, string> };
      return Object.keys(s.unfitLinks).length === 0 ? true : undefined;
    }, 10_000, 200);
  });
});

describe('ping, for Services that opt in', () => {
  const ping = async (args: string[]) => {
    const r = await lab.bed.execStatus(lab.bed.client, ['ping', ...args], { timeoutMs: 30_000 });
    const m = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?/.exec(r.stdout);
    if (!m) assert.fail(`no ping summary: ${r.stdout} ${r.stderr}`);
    return { sent: Number(m[1]), received: Number(m[2]), duplicates: Number(m[3] ?? 0) };
  };

  test('the holder answers ping and ping -6 for an opted-in Service, at a limited rate; others stay silent', async () => {
    await apply(lab.cp, serviceManifest('pingable', {
      labels: { app: 'myapp' }, annotations: { 'herald.io/answer-ping': 'true' }, ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'],
    }));
    await apply(lab.cp, serviceManifest('silent', { labels: { app: 'myapp' } }));
    const [v4, v6] = await vipsOf('pingable', 2);
    const [quiet] = await vipsOf('silent', 1);
    const holder = await waitHolder('pingable');
    await waitHolder('silent');
    // The holder's /status lists the addresses that answer ping.
    await waitFor('the opt-in to reach the responder', async () => {
      const s = JSON.parse((await lab.agentHttp(holder, '/status')).body) as { interfaces: { echo?: string[] }[] };
      return s.interfaces.some((i) => i.echo?.includes(v4!) && i.echo.includes(v6!)) ? true : undefined;
    }, 10_000, 100);
    assert.deepEqual(await ping(['-c', '3', '-i', '0.2', '-W', '1', v4!]), { sent: 3, received: 3, duplicates: 0 });
    assert.deepEqual(await ping(['-6', '-c', '3', '-i', '0.2', '-W', '1', v6!]), { sent: 3, received: 3, duplicates: 0 });
    assert.deepEqual(await ping(['-c', '2', '-i', '0.2', '-W', '1', quiet!]), { sent: 2, received: 0, duplicates: 0 }, 'no opt-in, no answer');
    // 400 requests in about a second: a burst of 20, then 100 a second.
    const limitedBefore = await metric(holder, 'herald_l2_echo_rate_limited_total');
    const t0 = performance.now();
    const flood = await ping(['-c', '400', '-i', '0.002', '-W', '1', '-q', v4!]);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`ping flood: ${flood.received} of ${flood.sent} answered in ${seconds.toFixed(2)} s`);
    // At most the burst plus the rate over the time the requests took (which includes ping's start and its last wait).
    assert.ok(flood.received >= ECHO_BURST && flood.received <= ECHO_BURST + Math.ceil(seconds * ECHO_PER_SECOND), JSON.stringify(flood));
    assert.ok(flood.received < flood.sent, 'some were refused');
    assert.ok(await metric(holder, 'herald_l2_echo_rate_limited_total') - limitedBefore >= flood.sent - flood.received);
  });

  test('a bad opt-in value is refused in an Event on the Service, and the Service is announced anyway', async () => {
    await apply(lab.cp, serviceManifest('badping', { labels: { app: 'myapp' }, annotations: { 'herald.io/answer-ping': 'yes' } }));
    const [vip] = await vipsOf('badping', 1);
    const holder = await waitHolder('badping');
    assert.equal(await waitFor(`curl ${vip}`, async () => lab.curl(vip!).catch(() => undefined), 10_000, 100), holder);
    const events = await waitFor('an InvalidAnnotation Event', async () => {
      const out = await lab.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'regarding.name=badping,reason=InvalidAnnotation', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { note: string }[] }).items;
      return items.length > 0 ? items : undefined;
    }, 10_000, 200);
    assert.match(events[0]!.note, /herald\.io\/answer-ping must be "true" or "false", not "yes"/);
  });
});

describe('monitoring', () => {
  test('every metric the Grafana dashboard and the alert rules use is exported by a running agent or operator', async () => {
    const scraped = [(await lab.agentHttp('node-a', '/metrics')).body, (await lab.operator!.http('/metrics')).body].join('\n');
    const exported = new Set([...scraped.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = new Set([...dashboardExprs(), ...ruleExprs().map((r) => r.expr)].flatMap(metricNames));
    assert.ok(used.size > 20);
    assert.deepEqual([...used].filter((n) => !exported.has(n)), []);
  });

  test('with every address held, no agent counts an unheld one; with its holder dead and no other candidate, every survivor does', async () => {
    await waitFor('no unheld address', async () => {
      for (const n of NODES) if (await metric(n, 'herald_agent_unheld_addresses') !== 0) return undefined;
      return true;
    }, 10_000, 200);
    // A Service only node-a may announce (by its hostname label), and node-a's agent gone without a handover.
    await apply(lab.cp, serviceManifest('only-a', { labels: { app: 'only-a' } }));
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: only-a}',
      'spec:', '  serviceSelector: {matchLabels: {app: only-a}}', '  nodeSelector: {matchLabels: {kubernetes.io/hostname: node-a}}',
      '  interfaces: ["^eth[0-9]+"]', '  loadBalancerIPs: true',
    ].join('\n'));
    await waitHolder('only-a', (h) => h === 'node-a');
    await lab.cutLan('node-a');
    await lab.killAgent('node-a');
    try {
      for (const n of ['node-b', 'node-c']) {
        await waitFor(`${n} to count the address node-a can no longer answer`, async () => (await metric(n, 'herald_agent_unheld_addresses') === 1 ? true : undefined), 15_000, 200);
      }
    } finally {
      await lab.restoreLan('node-a');
      await lab.setNodeReady('node-a', true);
      await lab.startAgent('node-a');
    }
  });
});
