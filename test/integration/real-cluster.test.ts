/**
 * Seed 001 end to end on a real cluster's parts (L2Lab.start({ cluster: 'real' })):
 * its Deployments become Pods that the real scheduler binds to the lab's
 * nodes and the lab kubelets run in pod namespaces; the real EndpointSlice
 * controller and kube-proxy carry the VIP that herald operator assigns and
 * the agents announce, from the client to a pod, also one on another node
 * than the holder (externalTrafficPolicy: Cluster).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { serviceIps, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { L2Lab } from '../../harness/l2-lab.js';
import { KUBE_PROXY_HEALTHZ_PORT } from '../../harness/real-cluster.js';
import { seedDirectory } from '../../harness/paths.js';
import { waitFor } from '../../harness/wait.js';
import { labNamespaces, labProcesses, stillRunning } from '../../harness/lab-footprint.js';
import { seed001Pool } from '../../harness/seeds.js';
import { arpingReplies } from '../../harness/testbed.js';
import { longestBlackoutMs } from '../../harness/blackout-probe.js';
import { rulesForAddress } from '../../harness/kube-proxy-rules.js';

const NODES = ['node-a', 'node-b', 'node-c'];
let lab: L2Lab;

before(async () => {
  lab = await L2Lab.start({ nodes: 3, cluster: 'real' });
  for (const n of NODES) await lab.startAgent(n);
});

after(async () => {
  await lab.stop();
});

interface PodList { items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }[] }

async function runningPods(app: string): Promise<PodList['items']> {
  const pods = JSON.parse(await lab.cp.kubectl(['get', 'pods', '-n', 'default', '-l', `app=${app}`, '-o', 'json'])) as PodList;
  return pods.items.filter((p) => p.status.phase === 'Running' && p.status.podIP !== undefined);
}

/** What a failed curl to a VIP leaves to go on: who holds what, the client's neighbour entry, each node's kube-proxy rules for it. */
async function evidence(vip: string): Promise<string> {
  const out: string[] = [];
  const run = async (what: string, f: () => Promise<string>): Promise<void> => {
    out.push(`--- ${what}`, await f().catch((err: unknown) => `(failed: ${String(err)})`));
  };
  await run('Service Leases', () => lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', '-l', 'herald.io/lease=service']));
  await run('Services', () => lab.cp.kubectl(['get', 'svc', '-A', '-o', 'wide']));
  await run('pods', () => lab.cp.kubectl(['get', 'pods', '-A', '-o', 'wide']));
  await run('EndpointSlices', () => lab.cp.kubectl(['get', 'endpointslices', '-A']));
  await run(`client: ip neigh ${vip}`, async () => (await lab.bed.exec(lab.bed.client, ['ip', 'neigh', 'show', vip])).stdout);
  await run(`client: arping ${vip}`, async () => (await lab.bed.execStatus(lab.bed.client, ['arping', '-c', '2', '-w', '3', '-I', 'eth0', vip], { timeoutMs: 10_000 })).stdout);
  for (const n of lab.nodes) {
    await run(`${n.name}: kube-proxy rules for ${vip}`, async () => rulesForAddress((await lab.bed.exec(n.host, ['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout, vip));
  }
  await run(`curl -v ${vip}`, async () => {
    const r = await lab.bed.execStatus(lab.bed.client, ['curl', '-sv', '--noproxy', '*', '--max-time', '3', `http://${vip}/`], { timeoutMs: 10_000 });
    return `${r.stdout}${r.stderr}`;
  });
  return out.join('\n');
}

/** curl answered, or an error carrying the evidence. */
async function curlVip(vip: string, port = 80): Promise<string> {
  try {
    return await waitFor(`curl ${vip}:${port}`, async () => lab.curl(vip, port).catch(() => undefined), 30_000, 200);
  } catch (err) {
    throw new Error(`${String(err)}\n${await evidence(vip)}`);
  }
}

test('seed 001: curl from the client is answered by a pod, also one on another node than the holder', async () => {
  const pool = seed001Pool();
  await lab.cp.kubectl(['apply', '-f', '-'], pool);
  await lab.cp.kubectl(['apply', '-f', `${seedDirectory}/001-l2announce.yaml`]);
  await lab.cp.kubectl(['apply', '-f', `${seedDirectory}/001-apps-and-svcs.yaml`]);
  // One replica each in the seed: three of app1, so that pods run on other nodes than the holder.
  await lab.cp.kubectl(['scale', 'deployment', 'app1-deployment', '--replicas=3']);

  const app1 = await waitFor('3 app1 pods running', async () => {
    const pods = await runningPods('app1');
    return pods.length === 3 ? pods : undefined;
  }, 90_000, 500);
  await waitFor('1 app2 pod running', async () => ((await runningPods('app2')).length === 1 ? true : undefined), 60_000, 500);
  for (const p of app1) assert.ok(NODES.includes(p.spec.nodeName ?? ''), `${p.metadata.name} bound to a lab node by the scheduler`);

  const endpoints = await waitFor('the EndpointSlice controller to list the 3 app1 pods as ready', async () => {
    const slices = JSON.parse(await lab.cp.kubectl(['get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=app1-service', '-o', 'json'])) as
      { items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] };
    const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses);
    return ready.length === 3 ? ready : undefined;
  }, 60_000, 500);
  assert.deepEqual([...endpoints].sort(), app1.map((p) => p.status.podIP ?? '').sort());

  for (const svc of ['app1-service', 'app2-service']) {
    const vip = await waitFor(`${svc} to get an address`, async () => (await serviceIps(lab.cp, svc))[0], 30_000, 200);
    assert.match(vip, /^192\.0\.2\.(24\d|250)$/);
    const holder = await waitFor(`a node to announce ${svc}`, async () =>
      (await serviceLeaseHolder(lab.cp, svc)) || undefined,
    30_000, 200);
    assert.ok(NODES.includes(holder), `${holder} is a lab node`);

    // kube-proxy's own rules for the VIP, in the holder's namespace.
    let ruleset = '';
    await waitFor(`kube-proxy in ${holder} to have rules for ${vip}`, async () => {
      ruleset = (await lab.bed.exec(lab.node(holder).host, ['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
      // The LoadBalancer IP in the service-ips map, going to the Service's external chain.
      return ruleset.includes(`${vip} . tcp . 80 : goto external-`) && ruleset.includes(`-default/${svc}/tcp/`) ? true : undefined;
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; its table:\n${ruleset}`); });

    const app = svc.replace('-service', '');
    const answer = await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 30_000, 200);
    assert.match(answer, new RegExp(`^${app}-deployment-[a-z0-9]+-[a-z0-9]+ on node-[abc]$`), `a pod of ${app} answers`);

    if (app === 'app1') {
      const others = app1.filter((p) => p.spec.nodeName !== holder).map((p) => `${p.metadata.name} on ${p.spec.nodeName ?? ''}`);
      assert.ok(others.length > 0, `the scheduler put every app1 pod on the holder ${holder}: the test needs one elsewhere`);
      const seen = new Set<string>();
      for (let i = 0; i < 60 && !others.some((o) => seen.has(o)); i++) seen.add(await lab.curl(vip));
      assert.ok(others.some((o) => seen.has(o)), `a pod on another node than ${holder} answered (ETP Cluster); saw ${[...seen].join(', ')}`);
    }
  }
  // kube-proxy's healthz on each node's LAN address (what ETP Local's health check node port builds on).
  for (const n of lab.nodes) {
    const { stdout } = await lab.bed.exec(lab.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}',
      `http://${n.host.ipv4 ?? ''}:${KUBE_PROXY_HEALTHZ_PORT}/healthz`]);
    assert.equal(stdout, '200', `kube-proxy's healthz on ${n.name}`);
  }
  assert.ok(lab.clusterRunning, 'kube-controller-manager, kube-scheduler and every kube-proxy still run');
});

test('scaling down: the lab kubelet stops the pods, removes their namespaces and confirms their deletion', async () => {
  await lab.cp.kubectl(['scale', 'deployment', 'app1-deployment', '--replicas=1']);
  const left = await waitFor('app1 to be down to one pod, with no terminating one', async () => {
    const pods = JSON.parse(await lab.cp.kubectl(['get', 'pods', '-n', 'default', '-l', 'app=app1', '-o', 'json'])) as PodList;
    return pods.items.length === 1 ? pods.items[0] : undefined;
  }, 60_000, 300);
  const podNamespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n').map((l) => l.split(' ')[0] ?? '').filter((ns) => ns.startsWith(lab.bed.prefix) && /-pod\d+$/.test(ns));
  assert.equal(podNamespaces().length, 2, `one namespace for app1's pod and one for app2's: ${podNamespaces().join(', ')}`);
  const ips = lab.nodes.flatMap((n) => [...(lab.kubelet(n.name)?.podIPs.entries() ?? [])]);
  assert.deepEqual(ips.filter(([key]) => key.startsWith('default/app1-')), [[`default/${left.metadata.name}`, left.status.podIP ?? '']]);
  const vip = (await serviceIps(lab.cp, 'app1-service'))[0] ?? '';
  const expected = `${left.metadata.name} on ${left.spec.nodeName ?? ''}`;
  // kube-proxy follows the EndpointSlice: only the pod that is left answers.
  await waitFor(`only ${expected} to answer`, async () => {
    for (let i = 0; i < 5; i++) if (await lab.curl(vip) !== expected) return undefined;
    return true;
  }, 30_000, 300);
});

test('externalTrafficPolicy: Local: the node of the pod holds the address, and the pod sees the client\'s', async () => {
  await lab.cp.kubectl(['apply', '-f', '-'], [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'local-app', namespace: 'default' }, spec: {
      replicas: 1, selector: { matchLabels: { app: 'local-app' } },
      template: { metadata: { labels: { app: 'local-app' } }, spec: { containers: [{ name: 'web', image: 'hashicorp/http-echo', ports: [{ containerPort: 8080 }] }] } },
    } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'local-app', namespace: 'default', labels: { app: 'myapp' } }, spec: {
      type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'local-app' },
      ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }],
    } },
  ].map((o) => stringify(o)).join('---\n'));
  const pod = await waitFor('the local-app pod running', async () => (await runningPods('local-app'))[0], 60_000, 300);
  const podNode = pod.spec.nodeName ?? '';
  const vip = await waitFor('local-app to get an address', async () => (await serviceIps(lab.cp, 'local-app'))[0], 30_000, 200);
  await waitFor(`${podNode}, the node with the endpoint, to hold local-app's Lease`, async () =>
    (await serviceLeaseHolder(lab.cp, 'local-app')) === podNode ? true : undefined,
  30_000, 200);
  assert.equal(await curlVip(vip), `${pod.metadata.name} on ${podNode}`);
  const { stdout } = await lab.bed.exec(lab.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', '3', `http://${vip}/source`]);
  assert.equal(stdout.trim(), lab.bed.client.ipv4, 'the pod sees the client\'s own address (no masquerade)');
  // kube-proxy's health check node port: 200 where the endpoint is, 503 elsewhere.
  const hc = JSON.parse(await lab.cp.kubectl(['get', 'svc', 'local-app', '-o', 'jsonpath={.spec.healthCheckNodePort}'])) as number;
  for (const n of lab.nodes) {
    const code = await waitFor(`the health check node port on ${n.name}`, async () => {
      const r = await lab.bed.exec(lab.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}',
        `http://${n.host.ipv4 ?? ''}:${hc}/`]);
      return r.stdout === '000' ? undefined : r.stdout;
    }, 15_000, 200);
    assert.equal(code, n.name === podNode ? '200' : '503', `kube-proxy's health check on ${n.name}`);
  }
});

test('externalTrafficPolicy: Local: moving the only pod to another node moves the announcement there', async (t) => {
  const holderOf = async (): Promise<string> =>
    serviceLeaseHolder(lab.cp, 'local-app');
  const before = await waitFor('the local-app pod', async () => (await runningPods('local-app'))[0], 30_000, 300);
  const from = before.spec.nodeName ?? '';
  const to = NODES.find((n) => n !== from) ?? '';
  const vip = (await serviceIps(lab.cp, 'local-app'))[0] ?? '';
  assert.equal(await holderOf(), from);
  const probe = await lab.startProbe({ vip, durationMs: 15_000, intervalMs: 20, timeoutMs: 250 });
  // As an operator moves a workload: a new nodeSelector, and the Deployment rolls the pod over.
  await lab.cp.kubectl(['patch', 'deployment', 'local-app', '--type=merge', '-p',
    JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': to } } } } })]);
  const after = await waitFor(`the only local-app pod to run on ${to}`, async () => {
    const pods = JSON.parse(await lab.cp.kubectl(['get', 'pods', '-n', 'default', '-l', 'app=local-app', '-o', 'json'])) as PodList;
    const p = pods.items[0];
    return pods.items.length === 1 && p?.spec.nodeName === to && p.status.phase === 'Running' ? p : undefined;
  }, 60_000, 300);
  await waitFor(`${to} to hold local-app's Lease`, async () => ((await holderOf()) === to ? true : undefined), 30_000, 100);
  const expected = `${after.metadata.name} on ${to}`;
  assert.equal(await waitFor(`curl ${vip} answered on ${to}`, async () => {
    const a = await lab.curl(vip).catch(() => undefined);
    return a === expected ? a : undefined;
  }, 30_000, 200), expected);
  assert.equal(await lab.neighMac(vip), lab.node(to).host.mac, `the client's neighbour entry for ${vip} moved to ${to}`);
  const { stdout } = await lab.bed.exec(lab.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', '3', `http://${vip}/source`]);
  assert.equal(stdout.trim(), lab.bed.client.ipv4, 'the client\'s own address still reaches the pod');
  const report = await probe.done;
  // The probe's answers name the pod's node last ("<pod> on <node>").
  const nodeOf = (x: { node?: string } | undefined): string | undefined => x?.node?.split(' ').at(-1);
  const answered = new Set(report.samples.flatMap((x) => nodeOf(x) ?? []));
  assert.ok(answered.has(from) && answered.has(to), `the probe saw the pods on both nodes answer: ${[...answered].join(', ')}`);
  assert.equal(nodeOf(report.samples.at(-1)), to, 'the probe ends answered by the moved pod');
  // The figure itself belongs to the benchmark (bench/l2-coordination.ts, PARTS=move); shown here for the log.
  const failed = report.samples.filter((x) => x.error !== undefined).length;
  t.diagnostic(`pod move ${from} → ${to}: longest blackout ${longestBlackoutMs(report.samples)} ms, ${failed} of ${report.samples.length} requests failed`);
});

/** One UDP datagram from the client to vip:port; resolves with the answer, or undefined after timeoutMs. */
async function udpAsk(vip: string, port: number, text: string, timeoutMs = 2000): Promise<string | undefined> {
  const code = `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m) => { console.log(m.toString()); process.exit(0); });
    s.send(${JSON.stringify(text)}, ${port}, ${JSON.stringify(vip)});
    setTimeout(() => process.exit(1), ${timeoutMs});`;
  const r = await lab.bed.execStatus(lab.bed.client, [process.execPath, '-e', code], { timeoutMs: timeoutMs + 5000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

test('a Service with a TCP and a UDP port on one address: both reach the pod', async () => {
  await lab.cp.kubectl(['apply', '-f', '-'], [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'mixed', namespace: 'default' }, spec: {
      replicas: 1, selector: { matchLabels: { app: 'mixed' } },
      template: { metadata: { labels: { app: 'mixed' } }, spec: { containers: [{ name: 'dns', image: 'example/dns',
        ports: [{ containerPort: 8053, protocol: 'TCP' }, { containerPort: 5353, protocol: 'UDP' }] }] } },
    } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'mixed', namespace: 'default', labels: { app: 'myapp' } }, spec: {
      type: 'LoadBalancer', selector: { app: 'mixed' },
      ports: [{ name: 'tcp', protocol: 'TCP', port: 80, targetPort: 8053 }, { name: 'udp', protocol: 'UDP', port: 53, targetPort: 5353 }],
    } },
  ].map((o) => stringify(o)).join('---\n'));
  const pod = await waitFor('the mixed pod running', async () => (await runningPods('mixed'))[0], 60_000, 300);
  const vips = await waitFor('mixed to get one address', async () => {
    const ips = await serviceIps(lab.cp, 'mixed');
    return ips.length > 0 ? ips : undefined;
  }, 30_000, 200);
  assert.equal(vips.length, 1, `one address for both ports: ${vips.join(', ')}`);
  const vip = vips[0] ?? '';
  const expected = `${pod.metadata.name} on ${pod.spec.nodeName ?? ''}`;
  assert.equal(await curlVip(vip), expected);
  assert.equal(await waitFor(`UDP to ${vip}:53`, async () => udpAsk(vip, 53, 'hello'), 30_000, 200), `${expected}: hello`);
});

test('two Services share one address by sharing key, TCP on one and UDP on the other: both reach the pod, and one node answers for it', async () => {
  const annotations = { 'lbipam.cilium.io/sharing-key': 'dns' };
  await lab.cp.kubectl(['apply', '-f', '-'], [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dns', namespace: 'default' }, spec: {
      replicas: 1, selector: { matchLabels: { app: 'dns' } },
      template: { metadata: { labels: { app: 'dns' } }, spec: { containers: [{ name: 'dns', image: 'example/dns',
        ports: [{ containerPort: 8053, protocol: 'TCP' }, { containerPort: 5353, protocol: 'UDP' }] }] } },
    } },
    // Ranked apart, these two names would be announced by different nodes of node-a/b/c (cilium/cilium#48419).
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns-tcp', namespace: 'default', labels: { app: 'myapp' }, annotations }, spec: {
      type: 'LoadBalancer', selector: { app: 'dns' }, ports: [{ protocol: 'TCP', port: 53, targetPort: 8053 }],
    } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns-udp', namespace: 'default', labels: { app: 'myapp' }, annotations }, spec: {
      type: 'LoadBalancer', selector: { app: 'dns' }, ports: [{ protocol: 'UDP', port: 53, targetPort: 5353 }],
    } },
  ].map((o) => stringify(o)).join('---\n'));
  const pod = await waitFor('the dns pod running', async () => (await runningPods('dns'))[0], 60_000, 300);
  const [tcpVip, udpVip] = await waitFor('both Services to get an address', async () => {
    const ips = [(await serviceIps(lab.cp, 'dns-tcp'))[0], (await serviceIps(lab.cp, 'dns-udp'))[0]];
    return ips.every((ip) => ip !== undefined) ? ips as [string, string] : undefined;
  }, 30_000, 200);
  assert.equal(udpVip, tcpVip, 'the sharing key gives both Services one address');
  const holders = await waitFor('both Leases held', async () => {
    const hs = await Promise.all(['dns-tcp', 'dns-udp'].map((svc) =>
      serviceLeaseHolder(lab.cp, svc)));
    return hs.every((h) => h !== '') ? hs : undefined;
  }, 30_000, 200);
  assert.equal(holders[1], holders[0], `one node holds both Services on the shared address: ${holders.join(', ')}`);
  const r = await lab.bed.execStatus(lab.bed.client, ['arping', '-c', '4', '-w', '5', '-I', 'eth0', tcpVip], { timeoutMs: 15_000 });
  assert.deepEqual([...new Set(arpingReplies(r.stdout))], [lab.node(holders[0] ?? '').host.mac], `only ${holders[0] ?? ''} answers ARP for ${tcpVip}`);
  const expected = `${pod.metadata.name} on ${pod.spec.nodeName ?? ''}`;
  assert.equal(await curlVip(tcpVip, 53), expected);
  assert.equal(await waitFor(`UDP to ${tcpVip}:53`, async () => udpAsk(tcpVip, 53, 'query'), 30_000, 200), `${expected}: query`);
});

test('stop() leaves no namespace (pods\' included) and no process of the lab', async () => {
  const prefix = lab.bed.prefix;
  const dir = lab.cp.dir;
  assert.ok(labNamespaces(prefix).some((ns) => /-pod\d+$/.test(ns)), 'pod namespaces before stop()');
  const pids = labProcesses(prefix, dir);
  await lab.stop();
  assert.deepEqual(labNamespaces(prefix), []);
  assert.deepEqual(stillRunning(pids), []);
  assert.throws(() => readdirSync(dir), /ENOENT/);
});
