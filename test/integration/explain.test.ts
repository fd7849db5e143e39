/**
 * `herald explain` and `herald status` on the L2 lab (harness/l2-lab.ts):
 * three nodes with agents, the operator, a pool and a policy, and Services
 * that show each part of the chain: a normal one, one pending because no
 * pool selects it, a ClusterIP Service with an external IP outside every
 * pool, one with externalTrafficPolicy Local and no endpoint, and two that
 * share an address. The real CLI runs, as `herald`, as the kubectl-herald
 * entry point and as a kubectl plugin through a real kubectl.
 *
 * Reaching the agents: the lab's agents listen on their node namespace's
 * LAN address (--health-address=0.0.0.0, as on a real node's host network),
 * and the root namespace, where the apiserver runs, has no route to the LAN.
 * So --agents=direct is tested from inside node-a's namespace (a host on
 * the LAN, with the apiserver over node-a's management link), and the
 * default --agents=proxy from the root namespace, where the apiserver's node
 * proxy cannot reach them: what degrading looks like.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { L2Lab } from '../../harness/l2-lab.js';
import { controlPlaneBinaries } from '../../harness/control-plane.js';
import { heraldCli } from '../../harness/entry-points.js';
import { repoRoot } from '../../harness/paths.js';
import { apply, serviceIps, serviceLeaseHolder, serviceManifest } from '../../harness/kube-objects.js';
import { waitFor } from '../../harness/wait.js';
import type { Explanation } from '../../src/inspect/explain.js';
import type { StatusReport } from '../../src/inspect/status.js';

const pluginEntry = fileURLToPath(new URL('../../src/cli/kubectl-herald.js', import.meta.url));

let lab: L2Lab;
/** The admin's kubeconfig as seen from inside node-a (the apiserver over its management link). */
let nodeKubeconfig: string;
let pluginDir: string;

before(async () => {
  lab = await L2Lab.start({ nodes: 3 });
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: lan-pool}',
    'spec:', '  blocks: [{start: 192.0.2.240, stop: 192.0.2.250}]',
    '  serviceSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}',
  ].join('\n'));
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: l2-policy}',
    'spec:', '  serviceSelector: {matchLabels: {app: myapp}}',
    '  interfaces: ["^eth[0-9]+"]', '  externalIPs: true', '  loadBalancerIPs: true',
  ].join('\n'));
  for (const n of lab.nodes) await lab.startAgent(n.name, ['--health-address=0.0.0.0']);
  const labels = { app: 'myapp' };
  await apply(lab.cp, serviceManifest('web', { labels }));
  await apply(lab.cp, serviceManifest('pending', { labels: { ...labels, tier: 'db' } }));
  await apply(lab.cp, serviceManifest('ext', { labels, type: 'ClusterIP', externalIPs: ['192.0.2.77'] }));
  await apply(lab.cp, serviceManifest('local', { labels, externalTrafficPolicy: 'Local' }));
  const sharing = { 'lbipam.cilium.io/sharing-key': 'shared' };
  await apply(lab.cp, serviceManifest('share-a', { labels, annotations: sharing, ports: [80] }));
  await apply(lab.cp, serviceManifest('share-b', { labels, annotations: sharing, ports: [8080] }));
  for (const svc of ['web', 'local', 'share-a', 'share-b']) {
    await waitFor(`${svc} to get its address`, async () => ((await serviceIps(lab.cp, svc)).length === 1 ? true : undefined), 20_000, 100);
  }
  for (const svc of ['web', 'share-a', 'share-b']) {
    await waitFor(`a holder for ${svc}`, async () => ((await serviceLeaseHolder(lab.cp, svc)) !== '' ? true : undefined), 20_000, 100);
  }
  const config = parse(readFileSync(lab.cp.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = 'https://127.0.0.1:6443';
  nodeKubeconfig = join(lab.cp.dir, 'admin-in-node.kubeconfig');
  writeFileSync(nodeKubeconfig, stringify(config), { mode: 0o600 });
  // What `npm install -g` does for a bin entry: the target made executable, a link on PATH.
  pluginDir = mkdtempSync(join(tmpdir(), 'herald-plugin-'));
  chmodSync(pluginEntry, 0o755);
  symlinkSync(pluginEntry, join(pluginDir, 'kubectl-herald'));
});

after(async () => {
  rmSync(pluginDir, { recursive: true, force: true });
  await lab.stop();
});

interface Run { code: number | null; stdout: string; stderr: string }

/** The CLI in the test's own (root) namespace. */
function runRoot(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [heraldCli, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** The CLI inside node-a's namespace, reading agents directly at their InternalIPs. */
async function inNode(args: readonly string[], entry = heraldCli): Promise<Run> {
  return lab.bed.execStatus(lab.node('node-a').host, [process.execPath, entry, ...args, `--kubeconfig=${nodeKubeconfig}`, '--agents=direct'], { timeoutMs: 30_000 });
}

async function explainJson(svc: string): Promise<Explanation> {
  const r = await inNode(['explain', svc, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Explanation;
}

describe('herald explain', () => {
  test('a normal Service: the Lease holder, its interface and MAC, replies and the last gratuitous burst, the pool and the condition', async () => {
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    const [vip] = await serviceIps(lab.cp, 'web');
    await lab.bed.execStatus(lab.bed.client, ['arping', '-c', '2', '-w', '3', '-I', 'eth0', vip ?? ''], { timeoutMs: 10_000 });
    const text = await inNode(['explain', 'default/web']);
    assert.equal(text.code, 0, text.stderr);
    console.log(text.stdout);
    assert.match(text.stdout, new RegExp(`=> ${vip}: announced by ${holder} on eth0 \\(${lab.macOf(holder)}\\)`));
    assert.match(text.stdout, /selected {2}lan-pool/);
    assert.match(text.stdout, /condition cilium.io\/IPAMRequestSatisfied: True, satisfied/);
    assert.match(text.stdout, new RegExp(`Lease kube-system/cilium-l2announce-default-web: holder ${holder}`));
    assert.match(text.stdout, /Agents: 3\/3 answered/);
    const e = await explainJson('default/web');
    const a = e.addresses[0];
    assert.ok(a);
    assert.equal(a.holder, holder);
    assert.equal(a.ranked.length, 3);
    assert.deepEqual(a.policies, [{ name: 'l2-policy', selects: true, why: null }]);
    const answer = a.answers[0];
    assert.equal(answer?.interface, 'eth0');
    assert.equal(answer.mac, lab.macOf(holder));
    assert.ok((answer.replies ?? 0) >= 1, `replies ${answer.replies}`);
    assert.ok(answer.lastGratuitousAt !== null);
    assert.equal(e.ipam.assigned[0]?.pool, 'lan-pool');
    assert.equal(e.holderAgent?.answering, true);
  });

  test('a Service no pool selects is pending, and the pool says why', async () => {
    const r = await inNode(['explain', 'default/pending']);
    assert.equal(r.code, 0, r.stderr);
    console.log(r.stdout);
    assert.match(r.stdout, /=> pending: no address assigned: /);
    assert.match(r.stdout, /no {8}lan-pool: serviceSelector does not match the Service/);
    assert.match(r.stdout, /condition cilium.io\/IPAMRequestSatisfied: False, no_pool/);
  });

  test('a ClusterIP Service with an external IP outside every pool: not announced, and why', async () => {
    const r = await inNode(['explain', 'default/ext']);
    assert.equal(r.code, 0, r.stderr);
    console.log(r.stdout);
    assert.match(r.stdout, /=> 192\.0\.2\.77: not announced: external IP 192\.0\.2\.77 lies in no CiliumLoadBalancerIPPool, so it is not announced/);
    assert.match(r.stdout, /Class: type ClusterIP: no address from the pools/);
  });

  test('externalTrafficPolicy Local with no endpoint: no node is a candidate, each says why', async () => {
    const e = await explainJson('default/local');
    const a = e.addresses[0];
    assert.ok(a);
    assert.deepEqual(a.ranked, []);
    assert.deepEqual(a.nodes.map((n) => n.why), lab.nodes.map(() => 'externalTrafficPolicy=Local and no ready endpoint on this node'));
    assert.ok(e.summary.some((l) => /not announced: no node is a candidate/.test(l)), e.summary.join('\n'));
    const text = await inNode(['explain', 'local', '-n', 'default']);
    console.log(text.stdout);
    assert.match(text.stdout, /- {2}node-a: externalTrafficPolicy=Local and no ready endpoint on this node/);
  });

  test('two Services sharing an address: the sharing key, the other Service, one holder for both', async () => {
    const e = await explainJson('default/share-b');
    assert.equal(e.ipam.sharingKey, 'shared');
    assert.deepEqual(e.ipam.sharedWith.map((s) => s.service), ['default/share-a']);
    assert.deepEqual(e.addressGroup.members, ['default/share-a', 'default/share-b']);
    assert.equal(e.addresses[0]?.holder, await serviceLeaseHolder(lab.cp, 'share-a'));
    const text = await inNode(['explain', 'default/share-b']);
    console.log(text.stdout);
    assert.match(text.stdout, /shares 192\.0\.2\.24\d with default\/share-a \(key shared\)/);
    assert.match(text.stdout, /address group: default\/share-a, default\/share-b \(ranked as default\/share-a/);
  });

  test('kubectl-herald, and kubectl herald with the plugin on PATH (the namespace from the kubeconfig context)', async () => {
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    const viaEntry = await inNode(['explain', 'default/web', '-o', 'yaml'], pluginEntry);
    assert.equal(viaEntry.code, 0, viaEntry.stderr);
    assert.equal((parse(viaEntry.stdout) as Explanation).lease?.holder, holder);
    const path = `${pluginDir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
    const kubectl = controlPlaneBinaries().kubectl;
    const plugin = await lab.bed.execStatus(lab.node('node-a').host, ['env', `PATH=${path}`, kubectl, 'plugin', 'list'], { timeoutMs: 15_000 });
    assert.match(plugin.stdout, /kubectl-herald/, plugin.stderr);
    const r = await lab.bed.execStatus(lab.node('node-a').host,
      ['env', `PATH=${path}`, `KUBECONFIG=${nodeKubeconfig}`, kubectl, 'herald', 'explain', 'web', '--agents=direct'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Service default/web .*\\n.*announced by ${holder}`));
    const status = await lab.bed.execStatus(lab.node('node-a').host,
      ['env', `PATH=${path}`, `KUBECONFIG=${nodeKubeconfig}`, kubectl, 'herald', 'status', '--agents=direct', '-o', 'json'], { timeoutMs: 30_000 });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as StatusReport).summary.alive, 3);
  });

  test('errors: an unknown Service, a bad argument, no kubeconfig, an apiserver that does not answer', async () => {
    const unknown = await inNode(['explain', 'default/nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /herald explain: no Service default\/nope; namespace default has /);
    const bad = await inNode(['explain', 'a/b/c']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"a\/b\/c" is not a Service: give NAMESPACE\/SERVICE, or SERVICE with -n NAMESPACE/);
    const none = await lab.bed.execStatus(lab.bed.client, ['env', 'HOME=/nonexistent', 'KUBECONFIG=', process.execPath, heraldCli, 'status'], { timeoutMs: 15_000 });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no kubeconfig: set \$KUBECONFIG/);
    // The client namespace has no management link: nothing listens on its 127.0.0.1:6443.
    const away = await lab.bed.execStatus(lab.bed.client, [process.execPath, heraldCli, 'explain', 'default/web', `--kubeconfig=${nodeKubeconfig}`], { timeoutMs: 15_000 });
    assert.equal(away.code, 1);
    assert.match(away.stderr, /herald explain: cannot reach the apiserver at https:\/\/127\.0\.0\.1:6443: .*ECONNREFUSED/);
  });

  test('through the apiserver\'s node proxy (the default) from where the nodes cannot be reached: each agent is reported unreachable, the rest still explains', async () => {
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    // The root namespace: where the apiserver runs, with no route to the lab's LAN.
    const r = await runRoot(['explain', 'default/web', `--kubeconfig=${lab.cp.kubeconfigPath}`, '--timeout=2s']);
    assert.equal(r.code, 0, r.stderr);
    console.log(r.stdout);
    assert.match(r.stdout, new RegExp(`announced by ${holder} on eth0 \\(${lab.macOf(holder)}\\)`), 'the MAC from the node Lease');
    assert.match(r.stdout, /Agents: 0\/3 answered/);
    assert.match(r.stdout, /node-a: unreachable: through the apiserver's node proxy \(node-a:9964\)/);
    assert.match(r.stdout, /replies unknown/);
  });
});

describe('RBAC for the CLI (examples/rbac/herald-inspect.yaml)', () => {
  test('without it a clear "not allowed"; with herald-inspect direct access works; nodes/proxy only with herald-inspect-agents', async () => {
    const user = 'inspector';
    const rootConfig = await lab.cp.kubeconfigFor(user);
    const config = parse(readFileSync(rootConfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    for (const c of config.clusters) c.cluster.server = 'https://127.0.0.1:6443';
    const inNodeConfig = join(lab.cp.dir, `${user}-in-node.kubeconfig`);
    writeFileSync(inNodeConfig, stringify(config), { mode: 0o600 });
    const asUser = (args: readonly string[]): Promise<Run> => lab.bed.execStatus(lab.node('node-a').host,
      [process.execPath, heraldCli, ...args, `--kubeconfig=${inNodeConfig}`], { timeoutMs: 30_000 });

    const denied = await asUser(['explain', 'default/web', '--agents=direct']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /herald explain: not allowed: .*403 Forbidden: .*User "inspector" cannot list/);

    await lab.cp.kubectl(['apply', '-f', join(repoRoot, 'examples/rbac/herald-inspect.yaml')]);
    await lab.cp.kubectl(['create', 'clusterrolebinding', `${user}-herald-inspect`, '--clusterrole=herald-inspect', `--user=${user}`]);
    await lab.cp.kubectl(['create', 'rolebinding', `${user}-herald-inspect-leases`, '-n', 'kube-system', '--clusterrole=herald-inspect-leases', `--user=${user}`]);
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    const allowed = await waitFor('the bindings to take effect', async () => {
      const r = await asUser(['explain', 'default/web', '--agents=direct']);
      return r.code === 0 ? r : undefined;
    }, 10_000, 200);
    assert.match(allowed.stdout, new RegExp(`announced by ${holder} on eth0`));
    assert.match(allowed.stdout, /Agents: \d\/\d answered/);
    assert.doesNotMatch(allowed.stdout, /note: Gateways not read/);

    const noProxy = await runRoot(['status', `--kubeconfig=${rootConfig}`, '--timeout=2s', '-o', 'json']);
    assert.equal(noProxy.code, 0, noProxy.stderr);
    const errors = (JSON.parse(noProxy.stdout) as StatusReport).nodes.map((n) => n.agentError ?? '');
    assert.ok(errors.every((e) => /not allowed \(RBAC: get on nodes\/proxy\), or use --agents=direct/.test(e)), errors.join('\n'));

    await lab.cp.kubectl(['create', 'clusterrolebinding', `${user}-herald-inspect-agents`, '--clusterrole=herald-inspect-agents', `--user=${user}`]);
    await waitFor('nodes/proxy to be allowed', async () => {
      const r = await runRoot(['status', `--kubeconfig=${rootConfig}`, '--timeout=2s', '-o', 'json']);
      const report = JSON.parse(r.stdout) as StatusReport;
      // Allowed now; the lab's apiserver still cannot reach the nodes.
      return report.nodes.every((n) => n.agentError !== null && !/RBAC/.test(n.agentError)) ? true : undefined;
    }, 10_000, 200);
  });
});

describe('herald status', () => {
  test('every announced address with holder, interface, MAC and age; the nodes alive; -o json and -o yaml parse', async () => {
    const r = await inNode(['status', '--width=100']);
    assert.equal(r.code, 0, r.stderr);
    console.log(r.stdout);
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    const [vip] = await serviceIps(lab.cp, 'web');
    assert.match(r.stdout, new RegExp(`default/web\\s+${(vip ?? '').replace(/\./g, '\\.')}\\s+announced\\s+${holder}\\s+eth0\\s+${lab.macOf(holder)}\\s+\\d+s`));
    assert.match(r.stdout, /default\/pending\s+-\s+pending\s+no pool selects this Service/);
    assert.match(r.stdout, /default\/ext\s+192\.0\.2\.77\s+not announced/);
    assert.match(r.stdout, /default\/local\s+192\.0\.2\.24\d\s+no candidate/);
    assert.match(r.stdout, /NODES {2}node-a\(\d\) {2}node-b\(\d\) {2}node-c\(\d\)\n/);
    assert.match(r.stdout, /6 Services, 5 addresses: 3 announced, 1 without a holder, 1 pending, 1 not announced;\s+3\/3 nodes alive/);
    // Six Services fit any screen: the default text is the whole table, as -o wide (ages aside).
    const wide = await inNode(['status', '--width=100', '-o', 'wide']);
    assert.equal(wide.code, 0, wide.stderr);
    const ageless = (text: string): string => text.replace(/\s\d+[smhd]\S*$/gm, '');
    assert.equal(ageless(wide.stdout), ageless(r.stdout));
    const json = await inNode(['status', '-o', 'json']);
    const report = JSON.parse(json.stdout) as StatusReport;
    assert.deepEqual(report.nodes.map((n) => n.state), ['alive', 'alive', 'alive']);
    const yaml = parse((await inNode(['status', '-o', 'yaml'])).stdout) as StatusReport;
    assert.deepEqual(yaml.summary, report.summary);
  });

  test('an agent that dies: its node is no longer alive, and its Services move', async () => {
    const holder = await serviceLeaseHolder(lab.cp, 'web');
    await lab.killAgent(holder);
    await waitFor(`web to leave ${holder}`, async () => {
      const h = await serviceLeaseHolder(lab.cp, 'web');
      return h !== '' && h !== holder ? true : undefined;
    }, 20_000, 100);
    const r = await inNode(['status']);
    console.log(r.stdout);
    const report = JSON.parse((await inNode(['status', '-o', 'json'])).stdout) as StatusReport;
    const state = report.nodes.find((n) => n.name === holder)?.state;
    assert.ok(state === 'agent unreachable' || state === 'marked', `${holder} is ${state}`);
    assert.match(r.stdout, /2\/3 nodes alive/);
  });
});
