/**
 * herald beside Cilium's own operator (cilium-operator-generic v1.18.4, built
 * by scripts/ensure-controlplane.sh from its Go module) with LB-IPAM off, on a
 * real kube-apiserver: the install mode docs/install.md describes under "If
 * Cilium's operator is still running". herald's CRDs are applied first, as its
 * chart does; Cilium's operator then registers its own (it is not told to
 * skip that, as in a default Cilium install) and replaces herald's pool and
 * L2 policy CRDs with Cilium 1.18.4's. herald's operator then allocates seed
 * 001's Services from seed 001's pool and writes the pool's status, and
 * Cilium's operator writes to neither. Last, the control: the same Cilium
 * operator with LB-IPAM on does write both, and the same check sees it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ControlPlane } from '../../harness/control-plane.js';
import { startCiliumOperator, type CiliumOperator } from '../../harness/cilium-operator.js';
import { heraldCrds, waitForCrds } from '../../harness/crds.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { apply } from '../../harness/kube-objects.js';
import { operatorUser, startOperator } from '../../harness/operator-setup.js';
import { seedDirectory } from '../../harness/paths.js';
import { seed001Addresses, seed001Pool, seed001PoolCounted } from '../../harness/seeds.js';
import { sleep, waitFor } from '../../harness/wait.js';

interface ManagedField { manager: string; subresource?: string }
interface Meta { name: string; resourceVersion: string; labels?: Record<string, string>; managedFields?: ManagedField[] }
interface Crd {
  metadata: Meta;
  spec: { versions: { name: string; served: boolean; storage: boolean; deprecated?: boolean }[] };
  status: { storedVersions: string[] };
}

/** Cilium 1.18.4's CRD schema version, the label its operator puts on the CRDs it registers. */
const CILIUM_SCHEMA_VERSION = '1.31.11';

async function crd(cp: ControlPlane, name: string): Promise<Crd> {
  return JSON.parse(await cp.kubectl(['get', 'crd', name, '-o', 'json'])) as Crd;
}

async function withManagedFields<T>(cp: ControlPlane, kind: string, name: string): Promise<T & { metadata: Meta }> {
  return JSON.parse(await cp.kubectl(['get', kind, name, '-o', 'json', '--show-managed-fields'])) as T & { metadata: Meta };
}

async function applySeed001(cp: ControlPlane): Promise<void> {
  await apply(cp, seed001Pool());
  await cp.kubectl(['apply', '-f', `${seedDirectory}/001-apps-and-svcs.yaml`]);
}

/** Who wrote the status subresource: every manager of a managedFields entry for it. */
function statusWriters(obj: { metadata: Meta }): string[] {
  return (obj.metadata.managedFields ?? []).filter((m) => m.subresource === 'status').map((m) => m.manager).sort();
}

describe('herald beside Cilium\'s operator with LB-IPAM off', () => {
  let cp: ControlPlane;
  let cilium: CiliumOperator | undefined;
  let herald: HeraldProcess | undefined;
  let heraldKubeconfig: string;

  before(async () => {
    cp = await ControlPlane.start();
    heraldKubeconfig = await operatorUser(cp); // herald's CRDs and RBAC
  });

  after(async () => {
    await herald?.proc.stop();
    await cilium?.stop();
    await cp.stop();
  });

  test('herald\'s CRDs are installed, with its label and no Cilium schema version', async () => {
    for (const name of heraldCrds) {
      const c = await crd(cp, name);
      const labels = c.metadata.labels ?? {};
      assert.equal(labels['app.kubernetes.io/part-of'], 'herald', name);
      assert.equal(labels['io.cilium.k8s.crd.schema.version'], undefined, name);
    }
  });

  test('Cilium\'s operator starts with LB-IPAM off, takes its lease and replaces herald\'s CRDs with its own', async () => {
    cilium = startCiliumOperator(cp);
    const op = cilium;
    await waitFor('Cilium\'s operator to register its CRDs', () => {
      if (!op.proc.running) throw new Error(`Cilium's operator exited: ${op.log().slice(-2000)}`);
      return /Start hook executed.*createCRDs/.test(op.log()) ? true : undefined;
    }, 120_000, 500);
    assert.match(op.log(), /--enable-lb-ipam='false'/);
    for (const name of heraldCrds) {
      assert.match(op.log(), new RegExp(`Updating CRD \\(CustomResourceDefinition\\)\\.\\.\\.".* name=${name.replaceAll('.', '\\.')}`), name);
    }
    const holder = await waitFor('Cilium\'s operator to hold its leader Lease', async () => {
      const out = await cp.kubectl(['-n', 'kube-system', 'get', 'lease', 'cilium-operator-resource-lock', '-o', 'jsonpath={.spec.holderIdentity}']).catch(() => '');
      return out === '' ? undefined : out;
    }, 60_000, 500);
    assert.ok(holder.length > 0);
    // The CRDs it created beside the two it replaced (the pod IPAM and policy ones a Cilium install has).
    const names = (await cp.kubectl(['get', 'crd', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').sort();
    assert.deepEqual(names, [
      'ciliumcidrgroups.cilium.io', 'ciliumclusterwidenetworkpolicies.cilium.io', 'ciliumendpoints.cilium.io',
      'ciliumidentities.cilium.io', 'ciliuml2announcementpolicies.cilium.io', 'ciliumloadbalancerippools.cilium.io',
      'ciliumnetworkpolicies.cilium.io', 'ciliumnodeconfigs.cilium.io', 'ciliumnodes.cilium.io', 'ciliumpodippools.cilium.io',
    ]);
    await waitForCrds(cp, heraldCrds);
  });

  test('the pool and L2 policy CRDs are now Cilium 1.18.4\'s: its label, herald\'s gone; v2 still stored', async () => {
    const pools = await crd(cp, 'ciliumloadbalancerippools.cilium.io');
    assert.deepEqual(pools.metadata.labels, { 'io.cilium.k8s.crd.schema.version': CILIUM_SCHEMA_VERSION });
    // Cilium 1.18.4 serves v2alpha1 without deprecating it: the warning herald's CRD gives is gone.
    assert.deepEqual(pools.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
      [['v2', true, true, false], ['v2alpha1', true, false, false]]);
    assert.deepEqual(pools.status.storedVersions, ['v2']);
    const policies = await crd(cp, 'ciliuml2announcementpolicies.cilium.io');
    assert.deepEqual(policies.metadata.labels, { 'io.cilium.k8s.crd.schema.version': CILIUM_SCHEMA_VERSION });
    assert.deepEqual(policies.spec.versions.map((v) => [v.name, v.served, v.storage]), [['v2alpha1', true, true]]);
  });

  test('seed 001: herald assigns the addresses and writes the pool\'s status', async () => {
    herald = await startOperator(cp, heraldKubeconfig, 'operator-0');
    await applySeed001(cp);
    await seed001Addresses(cp, /^192\.0\.2\.(24\d|250)$/);
    await seed001PoolCounted(cp);
    assert.match(readFileSync(herald.logFile, 'utf8'), /served at cilium\.io\/v2: using it/);
  });

  test('Cilium\'s operator writes neither the Services\' status nor the pool\'s, and keeps running', async () => {
    const read = async (): Promise<{ metadata: Meta }[]> => [
      await withManagedFields(cp, 'svc', 'app1-service'),
      await withManagedFields(cp, 'svc', 'app2-service'),
      await withManagedFields(cp, 'ippool', 'default-pool'),
    ];
    const first = await read();
    // Long enough for its informers to have synced and any controller to have acted (it started well before).
    await sleep(15_000);
    const later = await read();
    for (const [i, obj] of later.entries()) {
      assert.equal(obj.metadata.resourceVersion, first[i]?.metadata.resourceVersion, `${obj.metadata.name} was not written`);
      assert.deepEqual(statusWriters(obj), ['herald-operator'], obj.metadata.name);
    }
    assert.ok(cilium?.proc.running, 'Cilium\'s operator is still running');
    assert.doesNotMatch(cilium.log(), /level=(fatal|error)/);
  });
});

describe('control: Cilium\'s operator with LB-IPAM on', () => {
  let cp: ControlPlane;
  let cilium: CiliumOperator | undefined;

  before(async () => {
    cp = await ControlPlane.start();
    await operatorUser(cp);
  });

  after(async () => {
    await cilium?.stop();
    await cp.stop();
  });

  test('writes the Services\' and the pool\'s status, as cilium-operator-lb-ipam, which the check above would see', async () => {
    cilium = startCiliumOperator(cp, ['--enable-lb-ipam=true']); // the last flag wins
    await applySeed001(cp);
    const svc = await waitFor('app1-service to get an address from Cilium\'s operator', async () => {
      const s = await withManagedFields<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>(cp, 'svc', 'app1-service');
      return (s.status?.loadBalancer?.ingress ?? []).length === 1 ? s : undefined;
    }, 120_000, 500);
    assert.deepEqual(statusWriters(svc), ['cilium-operator-lb-ipam']);
    const pool = await waitFor('default-pool to get status from Cilium\'s operator', async () => {
      const p = await withManagedFields<object>(cp, 'ippool', 'default-pool');
      return statusWriters(p).length > 0 ? p : undefined;
    }, 60_000, 500);
    assert.deepEqual(statusWriters(pool), ['cilium-operator-lb-ipam']);
  });
});
