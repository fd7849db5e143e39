/**
 * herald on Cilium's CRDs instead of its own: the fixture of
 * test/fixtures/cilium-crds (Cilium's served versions and status condition
 * schema) on a real kube-apiserver, `herald operator` as a separate process
 * with its own RBAC, and the agents' policy status writer run as the agent's
 * user (without the network lab). Two shapes: Cilium 1.18/1.19 (pools at v2,
 * v2alpha1 deprecated) and Cilium 1.16/1.17 (pools only at v2alpha1), where
 * herald falls back to v2alpha1, here with the CRDs installed only after the
 * operator started. Last, seed 001 end to end in the network lab on each
 * shape: the client's curl is answered by the Lease holder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ControlPlane, KubectlError } from '../../harness/control-plane.js';
import { crdSetDirectory, installCrds, type CrdSet } from '../../harness/crds.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { L2Lab, agentUserKubeconfig, installAgentRbac } from '../../harness/l2-lab.js';
import { heraldCrds } from '../../harness/crds.js';
import { seed001Addresses, seed001Pool, seed001PoolCounted } from '../../harness/seeds.js';
import { apply, conditionOf, poolManifest, serviceIps, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { startOperator } from '../../harness/operator-setup.js';
import { repoRoot, seedDirectory } from '../../harness/paths.js';
import { waitFor } from '../../harness/wait.js';
import { syncPolicyStatus } from '../../src/agent/policy-status.js';
import { toPolicySpec, type PolicyObject } from '../../src/agent/convert.js';
import { compileL2Policy } from '../../src/core/l2/l2-policy.js';
import { Agent } from '../../src/agent/agent.js';
import { DEFAULT_COORDINATION } from '../../src/core/l2/coordination-settings.js';
import { discoverPoolApiVersion } from '../../src/kube/cilium-api-version.js';
import { FakeLinks, fakeOpener, link } from '../support/fakes.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/log.js';
import { POOL_V2ALPHA1_WARNING } from '../../tools/gen-crds.js';

/** The operator's RBAC and user, as operatorUser() but without installing herald's CRDs. */
async function operatorKubeconfig(cp: ControlPlane): Promise<string> {
  await cp.kubectl(['apply', '-f', `${repoRoot}deploy/manifests/operator-rbac.yaml`]);
  return cp.kubeconfigFor('system:serviceaccount:kube-system:herald-operator',
    ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated']);
}

async function applySeed001(cp: ControlPlane): Promise<void> {
  for (const f of ['001-ipam.yaml', '001-l2announce.yaml', '001-apps-and-svcs.yaml']) await cp.kubectl(['apply', '-f', `${seedDirectory}/${f}`]);
}


/** The pool's status as the operator writes it, read back through the fixture's schema. */
async function seed001PoolStatus(cp: ControlPlane): Promise<void> {
  const pool = await seed001PoolCounted(cp);
  for (const c of pool.status?.conditions ?? []) {
    // What the fixture's schema requires of every condition, so a write without it would have been refused.
    assert.match(c.reason ?? '', /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, c.type);
    assert.ok(c.lastTransitionTime, c.type);
  }
  const columns = await cp.kubectl(['get', 'ippool', 'default-pool', '--no-headers']);
  assert.match(columns, /^default-pool\s+false\s+False\s+9\s+/);
}

/** The agents' policy status writer, as the agent's RBAC user: seed 001's policy and a bad one get their conditions. */
async function policyStatusAccepted(cp: ControlPlane, user: string): Promise<void> {
  await installAgentRbac(cp);
  const transport = new KubeTransport(cp.kubeConfig(await agentUserKubeconfig(cp, user)));
  try {
    await apply(cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: bad-policy}',
      'spec:', '  nodeSelector: {matchExpressions: [{key: zone, operator: In}]}', '  interfaces: ["("]',
    ].join('\n'));
    const read = async (name: string): Promise<PolicyObject> =>
      JSON.parse(await cp.kubectl(['get', 'l2announcement', name, '-o', 'json'])) as PolicyObject;
    syncPolicyStatus(transport, [await read('l2announce-policy'), await read('bad-policy')], (p) => compileL2Policy(toPolicySpec(p)), silentLogger);
    const seed = await waitFor('l2announce-policy to get its conditions', async () => {
      const p = await read('l2announce-policy');
      return (p.status?.conditions ?? []).length === 3 ? p : undefined;
    });
    assert.deepEqual((seed.status?.conditions ?? []).map((c) => [c.type, c.status]).sort(), [
      ['io.cilium/bad-interface-regex', 'False'], ['io.cilium/bad-node-selector', 'False'], ['io.cilium/bad-service-selector', 'False'],
    ]);
    const bad = await waitFor('bad-policy to get its conditions', async () => {
      const p = await read('bad-policy');
      return (p.status?.conditions ?? []).length === 3 ? p : undefined;
    });
    assert.equal(conditionOf(bad, 'io.cilium/bad-node-selector')?.status, 'True');
    assert.equal(conditionOf(bad, 'io.cilium/bad-interface-regex')?.status, 'True');
    for (const c of [...seed.status?.conditions ?? [], ...bad.status?.conditions ?? []]) {
      assert.ok((c.reason ?? '').length >= 1, `${c.type} has a reason`);
    }
  } finally {
    transport.close();
  }
}

/**
 * An agent in this process, as the agent's user, on in-memory links (no
 * frame leaves): start() resolves once every watch, the pools' included,
 * has listed. Returns the version its /status names.
 */
async function agentWatchesPoolsAt(cp: ControlPlane, user: string): Promise<unknown> {
  const transport = new KubeTransport(cp.kubeConfig(await agentUserKubeconfig(cp, user)));
  const links = new FakeLinks([link('eth0', 2, '02:00:00:00:00:01')]);
  const agent = new Agent({
    transport, clock: () => performance.now(), links, openSocket: fakeOpener(links).open, log: silentLogger,
    settings: {
      nodeName: user, namespace: 'kube-system', coordination: DEFAULT_COORDINATION, loadBalancerClasses: [],
      externalIPsMustBeInPool: false, healthAddress: '127.0.0.1', healthPort: 0, handoverTimeoutMs: 1000, restartGraceMs: 0,
    },
  });
  try {
    await agent.start();
    return (agent.status() as { poolApiVersion?: unknown }).poolApiVersion;
  } finally {
    await agent.stop();
    transport.close();
  }
}

/** The version discovery finds, as the agent's user sees it. */
async function agentDiscovers(cp: ControlPlane, user: string): Promise<string | undefined> {
  const transport = new KubeTransport(cp.kubeConfig(await agentUserKubeconfig(cp, user)));
  try {
    return await discoverPoolApiVersion(transport);
  } finally {
    transport.close();
  }
}

function logSays(operator: HeraldProcess, text: string): boolean {
  return readFileSync(operator.logFile, 'utf8').includes(text);
}

describe('Cilium 1.18/1.19-shaped CRDs (pools at v2, v2alpha1 deprecated)', () => {
  const set: CrdSet = 'cilium-1.18';
  let cp: ControlPlane;
  let operator: HeraldProcess;

  before(async () => {
    cp = await ControlPlane.start();
    await installCrds(cp, set);
    operator = await startOperator(cp, await operatorKubeconfig(cp), 'operator-0');
  });

  after(async () => {
    await operator.proc.stop();
    await cp.stop();
  });

  test('the fixture, not herald\'s CRDs, is installed', async () => {
    const crd = JSON.parse(await cp.kubectl(['get', 'crd', 'ciliumloadbalancerippools.cilium.io', '-o', 'json'])) as {
      metadata: { labels?: Record<string, string> }; spec: { versions: { name: string; deprecationWarning?: string }[] };
    };
    assert.equal(crd.metadata.labels?.['app.kubernetes.io/part-of'], undefined);
    assert.deepEqual(crd.spec.versions.map((v) => [v.name, v.deprecationWarning]), [['v2', undefined], ['v2alpha1', undefined]]);
  });

  test('the operator uses cilium.io/v2', async () => {
    await waitFor('the operator to log its pool version', () => (logSays(operator, 'served at cilium.io/v2: using it') ? true : undefined));
    assert.equal(logSays(operator, 'falling back'), false);
  });

  test('seed 001: the operator allocates and writes pool status the schema accepts', async () => {
    await applySeed001(cp);
    await seed001Addresses(cp, /^172\.19\.0\.(24\d|250)$/);
    await seed001PoolStatus(cp);
  });

  test('the agents\' policy status writes are accepted', async () => {
    await policyStatusAccepted(cp, 'herald-agent-node-a');
  });

  test('an agent discovers cilium.io/v2 and watches pools there', async () => {
    assert.equal(await agentDiscovers(cp, 'herald-agent-node-b'), 'v2');
    assert.equal(await agentWatchesPoolsAt(cp, 'herald-agent-node-c'), 'cilium.io/v2');
  });

  test('pool v2alpha1 warns with the text herald\'s CRD states word for word', async () => {
    // Cilium's CRD has deprecated: true and no text: the apiserver's default is what users see.
    await apply(cp, poolManifest('old-pool', { blocks: [{ cidr: '198.51.100.0/30' }] }, 'cilium.io/v2alpha1'));
    // kubectl prints warnings on stderr, which cp.kubectl drops on success: ask the API directly.
    const transport = new KubeTransport(cp.kubeConfig());
    try {
      const res = await transport.open('/apis/cilium.io/v2alpha1/ciliumloadbalancerippools/old-pool');
      res.resume();
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.warning, `299 - "${POOL_V2ALPHA1_WARNING}"`);
    } finally {
      transport.close();
    }
  });

  test('CRDs that serve pools only at v2alpha1 cannot replace these (v2 is a stored version)', async () => {
    // What an operator of Cilium 1.17 or older would do to the pool CRD: an update to its own spec.
    const crd = JSON.parse(await cp.kubectl(['get', 'crd', 'ciliumloadbalancerippools.cilium.io', '-o', 'json'])) as { status: { storedVersions: string[] } };
    assert.deepEqual(crd.status.storedVersions, ['v2']);
    const err = await cp.kubectl(['replace', '-f', `${crdSetDirectory('cilium-1.16')}/ciliumloadbalancerippools.yaml`]).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KubectlError, 'the replace was refused');
    assert.match(err.stderr, /storedVersions/);
  });
});

describe('Cilium 1.16/1.17-shaped CRDs (pools only at v2alpha1), installed after herald starts', () => {
  const set: CrdSet = 'cilium-1.16';
  let cp: ControlPlane;
  let operator: HeraldProcess | undefined;

  before(async () => {
    cp = await ControlPlane.start();
  });

  after(async () => {
    await operator?.proc.stop();
    await cp.stop();
  });

  test('the operator waits for a pool CRD, then falls back to cilium.io/v2alpha1', async () => {
    const kubeconfig = await operatorKubeconfig(cp);
    // startOperator resolves once /readyz answers 200, which needs the pools listed.
    const starting = startOperator(cp, kubeconfig, 'operator-0');
    starting.catch(() => undefined);
    const logFile = `${cp.dir}/operator-0.log`;
    await waitFor('the operator to say it waits for the CRD', () => {
      try {
        return readFileSync(logFile, 'utf8').includes('is the CRD installed?') ? true : undefined;
      } catch {
        return undefined;
      }
    }, 60_000, 200);
    await installCrds(cp, set);
    operator = await starting;
    await waitFor('the operator to log its fallback', () => (logSays(operator as HeraldProcess, 'falling back to it') ? true : undefined));
    assert.match(readFileSync(operator.logFile, 'utf8'), /"apiVersion":"cilium.io\/v2alpha1"/);
  });

  test('seed 001: the operator allocates and writes pool status at v2alpha1', async () => {
    await applySeed001(cp);
    await seed001Addresses(cp, /^172\.19\.0\.(24\d|250)$/);
    await seed001PoolStatus(cp);
    const pool = JSON.parse(await cp.kubectl(['get', 'ippool', 'default-pool', '-o', 'json', '--show-managed-fields'])) as {
      apiVersion: string; metadata: { managedFields: { manager: string; apiVersion: string; subresource?: string }[] };
    };
    assert.equal(pool.apiVersion, 'cilium.io/v2alpha1');
    const statusWriters = pool.metadata.managedFields.filter((f) => f.subresource === 'status');
    assert.ok(statusWriters.length > 0);
    for (const f of statusWriters) assert.equal(f.apiVersion, 'cilium.io/v2alpha1');
  });

  test('Events about a pool name it at cilium.io/v2alpha1', async () => {
    await apply(cp, poolManifest('backwards', { blocks: [{ start: '192.0.2.9', stop: '192.0.2.1' }] }, 'cilium.io/v2alpha1'));
    const regarding = await waitFor('an InvalidPool Event for backwards', async () => {
      const out = await cp.kubectl(['get', 'events.events.k8s.io', '-A', '--field-selector', 'regarding.name=backwards,reason=InvalidPool', '-o', 'json']);
      return (JSON.parse(out) as { items: { regarding: { apiVersion: string; kind: string } }[] }).items[0]?.regarding;
    });
    assert.deepEqual([regarding.apiVersion, regarding.kind], ['cilium.io/v2alpha1', 'CiliumLoadBalancerIPPool']);
  });

  test('the agents\' policy status writes are accepted', async () => {
    await policyStatusAccepted(cp, 'herald-agent-node-a');
  });

  test('an agent discovers cilium.io/v2alpha1, though cilium.io/v2 is served (for CiliumNetworkPolicy)', async () => {
    const v2 = JSON.parse(await cp.kubectl(['get', '--raw', '/apis/cilium.io/v2'])) as { resources: { name: string }[] };
    assert.deepEqual(v2.resources.map((r) => r.name), ['ciliumnetworkpolicies', 'ciliumnetworkpolicies/status']);
    assert.equal(await agentDiscovers(cp, 'herald-agent-node-b'), 'v2alpha1');
    assert.equal(await agentWatchesPoolsAt(cp, 'herald-agent-node-c'), 'cilium.io/v2alpha1');
  });
});

for (const [set, version] of [['cilium-1.18', 'v2'], ['cilium-1.16', 'v2alpha1']] as const) describe(`seed 001 in the network lab, on ${set}-shaped CRDs`, () => {
  const NODES = ['node-a', 'node-b'];
  let lab: L2Lab | undefined;

  before(async () => {
    lab = await L2Lab.start({ nodes: 2, operator: false });
    // L2Lab installs herald's CRDs; nothing uses them yet: swap in the fixture.
    await lab.cp.kubectl(['delete', 'crd', ...heraldCrds, '--wait=true']);
    await installCrds(lab.cp, set);
    await lab.startOperatorReplica('operator-0');
    for (const n of NODES) await lab.startAgent(n);
  });

  after(async () => {
    await lab?.stop();
  });

  test(`the Services get addresses at ${version} and the client's curl is answered by the Lease holder`, async () => {
    const l = lab as L2Lab;
    for (const n of NODES) {
      const status = JSON.parse((await l.agentHttp(n, '/status')).body) as { poolApiVersion?: string };
      assert.equal(status.poolApiVersion, `cilium.io/${version}`, `${n}'s /status`);
    }
    const pool = seed001Pool();
    assert.match(pool, /apiVersion: "cilium\.io\/v2alpha1"/);
    await l.cp.kubectl(['apply', '-f', '-'], pool);
    for (const f of ['001-l2announce.yaml', '001-apps-and-svcs.yaml']) await l.cp.kubectl(['apply', '-f', `${seedDirectory}/${f}`]);
    const vips: string[] = [];
    for (const svc of ['app1-service', 'app2-service']) {
      const vip = await waitFor(`${svc} to get an address`, async () => (await serviceIps(l.cp, svc))[0], 60_000);
      assert.match(vip, /^192\.0\.2\.(24\d|250)$/);
      vips.push(vip);
      const holder = await waitFor(`a node to hold the Lease of ${svc}`, async () =>
        (await serviceLeaseHolder(l.cp, svc)) || undefined, 60_000);
      assert.ok(NODES.includes(holder), `${svc} is held by ${holder}`);
      const answeredBy = await waitFor(`curl ${vip}`, async () => l.curl(vip).catch(() => undefined), 30_000, 200);
      assert.equal(answeredBy, holder, `${vip} is answered by the Lease holder`);
    }
    assert.notEqual(vips[0], vips[1]);
    await waitFor('the agents to write the policy\'s conditions', async () => {
      const p = JSON.parse(await l.cp.kubectl(['get', 'l2announcement', 'l2announce-policy', '-o', 'json'])) as PolicyObject;
      return (p.status?.conditions ?? []).length === 3 ? true : undefined;
    }, 30_000);
  });
});
