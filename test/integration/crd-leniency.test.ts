/**
 * What herald's CRDs accept since they check only what Cilium's check, end to
 * end on a real kube-apiserver: `herald operator` (a separate process, with
 * its own RBAC) reports each unusable block in the pool's
 * herald.io/PoolInvalid condition, other pools and their Services carry on,
 * and L2 policies get their bad-selector conditions from the agents' status
 * writer (run here as the agent's user, without the network lab).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../harness/control-plane.js';
import { operatorUser, startOperator } from '../../harness/operator-setup.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { agentUserKubeconfig, installAgentRbac } from '../../harness/l2-lab.js';
import { apply, conditionOf, getPool, getService, poolManifest, serviceIps, serviceManifest } from '../../harness/kube-objects.js';
import { sleep, waitFor } from '../../harness/wait.js';
import { syncPolicyStatus } from '../../src/agent/policy-status.js';
import { toPolicySpec, type PolicyObject } from '../../src/agent/convert.js';
import { compileL2Policy } from '../../src/core/l2/l2-policy.js';
import { EventRecorder } from '../../src/kube/event-recorder.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/log.js';

const SATISFIED = 'cilium.io/IPAMRequestSatisfied';
const INVALID = 'herald.io/PoolInvalid';
let cp: ControlPlane;
let operator: HeraldProcess;

before(async () => {
  cp = await ControlPlane.start();
  const kubeconfig = await operatorUser(cp);
  operator = await startOperator(cp, kubeconfig, 'operator-0');
});

after(async () => {
  await operator.proc.stop();
  await cp.stop();
});

async function ipsOf(name: string, count: number): Promise<string[]> {
  return waitFor(`${name} to get ${count} address(es)`, async () => {
    const ips = await serviceIps(cp, name);
    return ips.length === count ? ips : undefined;
  });
}

async function serviceCondition(name: string, status: string): Promise<{ reason?: string; message?: string }> {
  return waitFor(`${name} ${SATISFIED}=${status}`, async () => {
    const c = conditionOf(await getService(cp, name), SATISFIED);
    return c?.status === status ? c : undefined;
  });
}

async function poolCondition(pool: string, type: string, status: string): Promise<{ reason?: string; message?: string }> {
  return waitFor(`${pool} ${type}=${status}`, async () => {
    const c = conditionOf(await getPool(cp, pool), type);
    return c?.status === status ? c : undefined;
  });
}

describe('pools with blocks Cilium\'s CRD accepts but nobody can use', () => {
  test('a pool of another team is served before and after', async () => {
    await apply(cp, poolManifest('good', { blocks: [{ cidr: '198.51.100.0/29' }], serviceSelector: { matchLabels: { test: 'good' } } }));
    await apply(cp, serviceManifest('good-1', { labels: { test: 'good' } }));
    assert.deepEqual(await ipsOf('good-1', 1), ['198.51.100.0']);
  });

  test('the pool applies, and PoolInvalid names every bad block and what is wrong with it', async () => {
    await apply(cp, poolManifest('mixed', {
      blocks: [
        { cidr: '192.0.2.0/29' },
        { start: '192.0.2.16', stop: '' },
        { cidr: '192.0.2.32/29', start: '192.0.2.33' },
        { stop: '192.0.2.50' },
        { start: '192.0.2.60', stop: 'gateway' },
        { start: '192.0.2.70', stop: '2001:db8::1' },
        { start: '192.0.2.90', stop: '192.0.2.80' },
        {},
      ],
      serviceSelector: { matchLabels: { test: 'mixed' } },
    }, 'cilium.io/v2'));
    const c = await poolCondition('mixed', INVALID, 'True');
    assert.equal(c.reason, 'invalid_spec');
    assert.equal(c.message, 'Pool allocates nothing until fixed: ' + [
      'block 4: has stop "192.0.2.50" but no start',
      'block 5: stop "gateway" is not an IPv4 or IPv6 address',
      'block 6: start "192.0.2.70" and stop "2001:db8::1" are of different IP families',
      'block 7: stop "192.0.2.80" is before start "192.0.2.90"',
      'block 8: has neither cidr nor start',
    ].join('; '));
    const pool = await getPool(cp, 'mixed');
    // The three valid blocks (two /29s and one address; block 3 read as its cidr, as Cilium does) count.
    assert.equal(conditionOf(pool, 'cilium.io/IPsTotal')?.message, '17');
    // What its valid blocks have free, as for a disabled or conflicting pool (issue 12): it hands none out while invalid.
    assert.equal(conditionOf(pool, 'cilium.io/IPsAvailable')?.message, '17');
    assert.equal(conditionOf(pool, 'herald.io/PoolFieldsIgnored')?.message,
      'block 3: has both cidr "192.0.2.32/29" and start "192.0.2.33"; using cidr, as Cilium does, and ignoring start');
    assert.equal(conditionOf(pool, 'cilium.io/PoolConflict')?.status, 'False');
  });

  test('a Warning Event on the pool says the same', async () => {
    const note = await waitFor('an InvalidPool Event for mixed', async () => {
      const out = await cp.kubectl(['get', 'events.events.k8s.io', '-A', '--field-selector', 'regarding.name=mixed,reason=InvalidPool', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { note: string; type: string }[] }).items;
      return items[0];
    });
    assert.equal(note.type, 'Warning');
    assert.match(note.note, /block 5: stop "gateway" is not an IPv4 or IPv6 address/);
  });

  test('its Services get a condition naming the pool; the other pool\'s Services are served', async () => {
    await apply(cp, serviceManifest('mixed-1', { labels: { test: 'mixed' } }));
    const c = await serviceCondition('mixed-1', 'False');
    assert.equal(c.reason, 'no_pool');
    assert.match(c.message ?? '', /mixed \(invalid spec\)/);
    await apply(cp, serviceManifest('good-2', { labels: { test: 'good' } }));
    assert.deepEqual(await ipsOf('good-2', 1), ['198.51.100.1']);
    assert.deepEqual(await serviceIps(cp, 'good-1'), ['198.51.100.0']);
    assert.equal(conditionOf(await getPool(cp, 'good'), INVALID), undefined);
  });

  test('fixed, the pool allocates from its first block', async () => {
    await apply(cp, poolManifest('mixed', {
      blocks: [{ cidr: '192.0.2.0/29' }, { start: '192.0.2.16', stop: '' }],
      serviceSelector: { matchLabels: { test: 'mixed' } },
    }, 'cilium.io/v2'));
    assert.deepEqual(await ipsOf('mixed-1', 1), ['192.0.2.0']);
    await waitFor('PoolInvalid to go away', async () => (conditionOf(await getPool(cp, 'mixed'), INVALID) ? undefined : true));
  });
});

describe('what Cilium reads as valid is valid here', () => {
  test('stop: "" is start alone, as in Cilium: one address, no condition', async () => {
    await apply(cp, poolManifest('single', { blocks: [{ start: '203.0.113.7', stop: '' }], serviceSelector: { matchLabels: { test: 'single' } } }));
    await apply(cp, serviceManifest('single-1', { labels: { test: 'single' } }));
    assert.deepEqual(await ipsOf('single-1', 1), ['203.0.113.7']);
    const pool = await getPool(cp, 'single');
    assert.equal(conditionOf(pool, 'cilium.io/IPsTotal')?.message, '1');
    assert.equal(conditionOf(pool, INVALID), undefined);
  });

  test('cidr with start: cidr, as Cilium reads it; the pool allocates, says what it ignored, and forgets it once fixed', async () => {
    const spec = (block: Record<string, string>): Record<string, unknown> => ({ blocks: [block], serviceSelector: { matchLabels: { test: 'both' } } });
    await apply(cp, poolManifest('both', spec({ cidr: '203.0.113.16/30', start: '203.0.113.18' })));
    await apply(cp, serviceManifest('both-1', { labels: { test: 'both' } }));
    assert.deepEqual(await ipsOf('both-1', 1), ['203.0.113.16'], 'the lowest address of the cidr, not the start');
    const c = await poolCondition('both', 'herald.io/PoolFieldsIgnored', 'True');
    assert.match(c.message ?? '', /using cidr, as Cilium does, and ignoring start/);
    assert.equal(conditionOf(await getPool(cp, 'both'), INVALID), undefined);
    await apply(cp, poolManifest('both', spec({ cidr: '203.0.113.16/30' })));
    await waitFor('PoolFieldsIgnored to go', async () => (conditionOf(await getPool(cp, 'both'), 'herald.io/PoolFieldsIgnored') === undefined ? true : undefined));
  });
});

describe('a pool edited into an invalid one', () => {
  test('keeps the addresses of its valid blocks, allocates nothing new, and resumes when fixed', async () => {
    const blocks = [{ cidr: '192.0.2.128/30' }, { start: '192.0.2.140', stop: '192.0.2.141' }];
    const selector = { matchLabels: { test: 'edit' } };
    await apply(cp, poolManifest('edit', { blocks, serviceSelector: selector }));
    await apply(cp, serviceManifest('edit-1', { labels: { test: 'edit' } }));
    assert.deepEqual(await ipsOf('edit-1', 1), ['192.0.2.128']);

    await apply(cp, poolManifest('edit', { blocks: [...blocks, { start: '192.0.2.150', stop: '192.0.2.149' }], serviceSelector: selector }));
    const c = await poolCondition('edit', INVALID, 'True');
    assert.match(c.message ?? '', /block 3: stop "192\.0\.2\.149" is before start "192\.0\.2\.150"/);
    await apply(cp, serviceManifest('edit-2', { labels: { test: 'edit' } }));
    assert.equal((await serviceCondition('edit-2', 'False')).reason, 'no_pool');
    // Give a wrong release time to show up: edit-1 is untouched.
    await sleep(500);
    const kept = await getService(cp, 'edit-1');
    assert.deepEqual((kept.status?.loadBalancer?.ingress ?? []).map((i) => i.ip), ['192.0.2.128']);
    assert.equal(conditionOf(kept, SATISFIED)?.status, 'True');

    await apply(cp, poolManifest('edit', { blocks, serviceSelector: selector }));
    assert.deepEqual(await ipsOf('edit-2', 1), ['192.0.2.129']);
    assert.deepEqual(await serviceIps(cp, 'edit-1'), ['192.0.2.128']);
  });

  test('a selector the CRD no longer checks (In without values) is reported the same way', async () => {
    await apply(cp, poolManifest('edit', {
      blocks: [{ cidr: '192.0.2.128/30' }],
      serviceSelector: { matchExpressions: [{ key: 'test', operator: 'In' }] },
    }));
    const c = await poolCondition('edit', INVALID, 'True');
    assert.equal(c.message, 'Pool allocates nothing until fixed: serviceSelector: matchExpressions[0]: operator In needs at least one value');
    // A bad selector keeps what the pool has (docs/ipam.md, Rules).
    assert.deepEqual(await serviceIps(cp, 'edit-1'), ['192.0.2.128']);
  });
});

describe('L2 policies the CRD accepts get conditions from the agents', () => {
  test('bad selectors are named in io.cilium/bad-*-selector; an empty interface pattern is valid', async () => {
    await installAgentRbac(cp);
    const kubeconfig = await agentUserKubeconfig(cp, 'herald-agent-node-a');
    const transport = new KubeTransport(cp.kubeConfig(kubeconfig));
    try {
      await apply(cp, [
        'apiVersion: cilium.io/v2alpha1', 'kind: CiliumL2AnnouncementPolicy', 'metadata: {name: lenient-bad}',
        'spec:', '  nodeSelector: {matchExpressions: [{key: zone, operator: In}]}',
        '  serviceSelector: {matchExpressions: [{key: "", operator: Exists}]}', '  interfaces: [""]',
      ].join('\n'));
      await apply(cp, 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: lenient-ok}\nspec: {interfaces: [""]}\n');
      const read = async (name: string): Promise<PolicyObject> =>
        JSON.parse(await cp.kubectl(['get', 'l2announcement', name, '-o', 'json'])) as PolicyObject;
      // Two agents see the same stored status at once: each writes, and each reports the problems.
      const before = [await read('lenient-bad'), await read('lenient-ok')];
      const recorders = ['node-a', 'node-b'].map((n) => new EventRecorder(transport, 'herald.io/agent', n, silentLogger));
      for (const events of recorders) syncPolicyStatus(transport, before, (p) => compileL2Policy(toPolicySpec(p)), silentLogger, events);
      await Promise.all(recorders.map((r) => r.idle()));

      const bad = await waitFor('lenient-bad to get its conditions', async () => {
        const p = await read('lenient-bad');
        return conditionOf(p, 'io.cilium/bad-node-selector')?.status === 'True' ? p : undefined;
      });
      assert.equal(conditionOf(bad, 'io.cilium/bad-node-selector')?.message, 'matchExpressions[0]: operator In needs at least one value');
      assert.equal(conditionOf(bad, 'io.cilium/bad-service-selector')?.status, 'True');
      assert.equal(conditionOf(bad, 'io.cilium/bad-service-selector')?.message, 'matchExpressions[0]: label key "" is invalid');
      assert.equal(conditionOf(bad, 'io.cilium/bad-interface-regex')?.status, 'False');

      const ok = await waitFor('lenient-ok to get its conditions', async () => {
        const p = await read('lenient-ok');
        return (p.status?.conditions ?? []).length === 3 ? p : undefined;
      });
      assert.deepEqual((ok.status?.conditions ?? []).map((c) => c.status), ['False', 'False', 'False']);
      // One Warning Event per problem for the cluster, not one per agent; none for the valid policy.
      const events = JSON.parse(await cp.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '--field-selector', 'reason=InvalidPolicy', '-o', 'json'])) as
        { items: { regarding: { name: string }; note: string; type: string }[] };
      assert.deepEqual(events.items.map((e) => `${e.type} ${e.regarding.name}: ${e.note}`).sort(), [
        'Warning lenient-bad: io.cilium/bad-node-selector: matchExpressions[0]: operator In needs at least one value; the policy selects nothing until fixed',
        'Warning lenient-bad: io.cilium/bad-service-selector: matchExpressions[0]: label key "" is invalid; the policy selects nothing until fixed',
      ]);
    } finally {
      transport.close();
    }
  });
});
