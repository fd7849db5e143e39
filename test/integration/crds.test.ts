/**
 * herald's CRDs on a real kube-apiserver: the seed manifests apply unchanged,
 * kubectl prints Cilium's columns, every manifest Cilium's CRDs accept applies
 * (the operator and the agents report what is wrong in it), and what Cilium's
 * CRDs reject is rejected with a message that names the field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ControlPlane, KubectlError } from '../../harness/control-plane.js';
import { installCrds } from '../../harness/crds.js';
import { seedDirectory } from '../../harness/paths.js';

let cp: ControlPlane;

before(async () => {
  cp = await ControlPlane.start();
  await installCrds(cp);
});

after(async () => {
  await cp.stop();
});

function header(table: string): string[] {
  return (table.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

describe('the seed manifests apply unchanged', () => {
  test('seed 001: the pool, the policy and the Services', async () => {
    for (const f of ['001-ipam.yaml', '001-l2announce.yaml', '001-apps-and-svcs.yaml']) {
      await cp.kubectl(['apply', '-f', `${seedDirectory}/${f}`]);
    }
    const pool = JSON.parse(await cp.kubectl(['get', 'ciliumloadbalancerippool', 'default-pool', '-o', 'json'])) as {
      apiVersion: string; spec: { blocks: unknown[]; disabled: boolean };
    };
    assert.deepEqual(pool.spec.blocks, [{ start: '172.19.0.240', stop: '172.19.0.250' }]);
    assert.equal(pool.spec.disabled, false, 'disabled defaults to false');
    const svcs = await cp.kubectl(['get', 'svc', '-n', 'default', 'app1-service', 'app2-service', '-o', 'name']);
    assert.deepEqual(svcs.trim().split('\n'), ['service/app1-service', 'service/app2-service']);
  });

  test('seed 003: the pools and policies its Terraform renders', async () => {
    await cp.kubectl(['apply', '-f', `${seedDirectory}/003-rendered.yaml`]);
    const names = await cp.kubectl(['get', 'l2announcement', '-o', 'name']);
    assert.match(names, /l2-policy-eno1/);
    assert.match(names, /l2-policy-eno2/);
  });

  test('seed 004: the layer-2 policy', async () => {
    await cp.kubectl(['apply', '-f', `${seedDirectory}/004-layer2-policy.yaml`]);
    const policy = JSON.parse(await cp.kubectl(['get', 'ciliuml2announcementpolicy', 'mdhlabs-layer2-policy', '-o', 'json'])) as {
      spec: { interfaces: string[]; nodeSelector: unknown };
    };
    assert.deepEqual(policy.spec.interfaces, ['ens18']);
    assert.deepEqual(policy.spec.nodeSelector, {
      matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }],
    });
  });

  test('a v2alpha1 pool reads back as v2 and the reverse', async () => {
    const v2 = JSON.parse(await cp.kubectl(['get', 'ciliumloadbalancerippools.v2.cilium.io', 'default-pool', '-o', 'json'])) as {
      apiVersion: string;
    };
    assert.equal(v2.apiVersion, 'cilium.io/v2');
    await cp.kubectl(['apply', '-f', '-'], [
      'apiVersion: cilium.io/v2', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: v2-pool}',
      'spec: {blocks: [{cidr: "2001:db8:42::/64"}], allowFirstLastIPs: "No"}',
    ].join('\n'));
    const old = JSON.parse(await cp.kubectl(['get', 'ciliumloadbalancerippools.v2alpha1.cilium.io', 'v2-pool', '-o', 'json'])) as {
      apiVersion: string; spec: { allowFirstLastIPs: string };
    };
    assert.equal(old.apiVersion, 'cilium.io/v2alpha1');
    assert.equal(old.spec.allowFirstLastIPs, 'No');
  });
});

describe('kubectl get prints the columns users know', () => {
  test('pools: Disabled, Conflicting, IPs Available, Age, reachable by every short name', async () => {
    for (const name of ['ciliumloadbalancerippool', 'ippools', 'ippool', 'lbippool', 'lbippools']) {
      const table = await cp.kubectl(['get', name]);
      assert.deepEqual(header(table), ['NAME', 'DISABLED', 'CONFLICTING', 'IPS AVAILABLE', 'AGE'], name);
      assert.match(table, /default-pool\s+false\s/);
    }
  });

  test('the status columns show what the status subresource holds', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      status: {
        conditions: [
          { type: 'cilium.io/PoolConflict', status: 'False', reason: 'resolved', message: '', lastTransitionTime: now },
          { type: 'cilium.io/IPsAvailable', status: 'Unknown', reason: 'noreason', message: '11', lastTransitionTime: now },
        ],
      },
    };
    await cp.kubectl(['patch', 'ippool', 'default-pool', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const row = (await cp.kubectl(['get', 'ippool', 'default-pool', '--no-headers'])).trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 4), ['default-pool', 'false', 'False', '11']);
  });

  test('policies: the l2announcement short name', async () => {
    const table = await cp.kubectl(['get', 'l2announcement']);
    assert.deepEqual(header(table), ['NAME', 'AGE']);
    assert.match(table, /l2announce-policy/);
  });
});

interface Invalid { name: string; manifest: string; field: string; says: RegExp }

const pool = (spec: string): string =>
  `apiVersion: cilium.io/v2alpha1\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: bad}\nspec: ${spec}\n`;
const policy = (spec: string): string =>
  `apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: bad}\nspec: ${spec}\n`;

// Only what Cilium's CRDs reject too: types, enums, format: cidr, label values, a pool's spec.
const invalid: Invalid[] = [
  { name: 'a CIDR with a /33 prefix', manifest: pool('{blocks: [{cidr: 192.0.2.0/33}]}'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'a CIDR that is a word', manifest: pool('{blocks: [{cidr: lan}]}'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'an IPv6 CIDR with a /129 prefix', manifest: pool('{blocks: [{cidr: "2001:db8::/129"}]}'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'a CIDR without a prefix', manifest: pool('{blocks: [{cidr: 192.0.2.0}]}'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'an empty CIDR', manifest: pool('{blocks: [{cidr: "", start: 192.0.2.1}]}'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'a v2 pool with a CIDR that is a word', manifest: pool('{blocks: [{cidr: lan}]}').replace('v2alpha1', 'v2'), field: 'spec.blocks[0].cidr', says: /must be of type cidr/ },
  { name: 'a start address as a number', manifest: pool('{blocks: [{start: 3221225985}]}'), field: 'spec.blocks[0].start', says: /must be of type string/ },
  { name: 'allowFirstLastIPs: Maybe', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], allowFirstLastIPs: Maybe}'), field: 'spec.allowFirstLastIPs', says: /Unsupported value: "Maybe".*"Yes", "No"/ },
  { name: 'disabled as a string', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], disabled: "yes"}'), field: 'spec.disabled', says: /boolean/ },
  { name: 'a selector operator that does not exist', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}}'), field: 'spec.serviceSelector.matchExpressions[0].operator', says: /Unsupported value: "Equals"/ },
  { name: 'a selector expression without an operator', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app}]}}'), field: 'spec.serviceSelector.matchExpressions[0].operator', says: /Required value/ },
  { name: 'a pool with no spec', manifest: 'apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: bad}\n', field: 'spec', says: /Required value/ },
  { name: 'policy interfaces as a string', manifest: policy('{interfaces: eth0}'), field: 'spec.interfaces', says: /array/ },
  { name: 'policy loadBalancerIPs as a string', manifest: policy('{loadBalancerIPs: "sure"}'), field: 'spec.loadBalancerIPs', says: /boolean/ },
  { name: 'policy matchLabels value with a space', manifest: policy('{serviceSelector: {matchLabels: {app: "my app"}}}'), field: 'spec.serviceSelector.matchLabels.app', says: /should match/ },
  { name: 'policy node selector operator that does not exist', manifest: policy('{nodeSelector: {matchExpressions: [{key: a, operator: exists}]}}'), field: 'spec.nodeSelector.matchExpressions[0].operator', says: /Unsupported value: "exists"/ },
];

describe('what Cilium\'s CRDs reject is rejected, with a message naming the field', () => {
  for (const c of invalid) {
    test(c.name, async () => {
      const err = await cp.kubectl(['apply', '-f', '-'], c.manifest).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof KubectlError, `${c.name} was accepted`);
      assert.ok(err.stderr.includes(c.field), `message does not name ${c.field}: ${err.stderr}`);
      assert.match(err.stderr, c.says);
    });
  }

  test('none of the rejected objects exist', async () => {
    const left = await cp.kubectl(['get', 'ippools,l2announcement', '--ignore-not-found', '-o', 'name']);
    assert.doesNotMatch(left, /\/bad$/m);
  });
});

interface Lenient { name: string; spec: string }

/**
 * Manifests Cilium's CRDs accept although herald cannot use them as they are:
 * they must apply, read back as written, and be reported on status instead
 * (test/integration/crd-leniency.test.ts checks the reports).
 */
const lenientPools: Lenient[] = [
  { name: 'an empty stop', spec: '{blocks: [{start: 192.0.2.1, stop: ""}]}' },
  { name: 'both cidr and start/stop', spec: '{blocks: [{cidr: 192.0.2.0/28, start: 192.0.2.1, stop: 192.0.2.9}]}' },
  { name: 'an empty block', spec: '{blocks: [{}]}' },
  { name: 'a stop without a start', spec: '{blocks: [{stop: 192.0.2.9}]}' },
  { name: 'empty start and stop', spec: '{blocks: [{start: "", stop: ""}]}' },
  { name: 'a start with an octet over 255', spec: '{blocks: [{start: 192.0.2.300}]}' },
  { name: 'a stop that is a host name', spec: '{blocks: [{start: 192.0.2.1, stop: gateway}]}' },
  { name: 'start and stop of different families', spec: '{blocks: [{start: 192.0.2.1, stop: "2001:db8::9"}]}' },
  { name: 'stop before start', spec: '{blocks: [{start: 192.0.2.20, stop: 192.0.2.10}]}' },
  { name: 'a start longer than any address', spec: `{blocks: [{start: "${'2001:db8:'.repeat(8)}"}]}` },
  { name: 'an IPv4-mapped IPv6 CIDR', spec: '{blocks: [{cidr: "::ffff:192.0.2.0/120"}]}' },
  { name: 'a CIDR with host bits set', spec: '{blocks: [{cidr: 192.0.2.7/24}]}' },
  { name: 'no blocks at all', spec: '{}' },
  { name: 'more than 1024 blocks', spec: `{blocks: [${Array.from({ length: 1030 }, (_, i) => `{start: 192.0.2.${i % 256}}`).join(', ')}]}` },
  { name: 'In without values', spec: '{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: In}]}}' },
  { name: 'Exists with values', spec: '{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: Exists, values: [x]}]}}' },
  { name: 'an empty selector key', spec: '{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: "", operator: Exists}]}}' },
  { name: 'a selector key over 317 characters', spec: `{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: ${'k'.repeat(320)}, operator: Exists}]}}` },
  { name: 'an expression value with a space', spec: '{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: In, values: ["my app"]}]}}' },
];

const lenientPolicies: Lenient[] = [
  { name: 'an empty interface pattern', spec: '{interfaces: [""]}' },
  { name: 'an interface pattern over 256 characters', spec: `{interfaces: ["${'e'.repeat(300)}"]}` },
  { name: 'In without values in the node selector', spec: '{nodeSelector: {matchExpressions: [{key: zone, operator: In}]}}' },
  { name: 'Exists with values in the node selector', spec: '{nodeSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}' },
  { name: 'an empty key in the service selector', spec: '{serviceSelector: {matchExpressions: [{key: "", operator: DoesNotExist}]}}' },
];

describe('what Cilium\'s CRDs accept applies unchanged', () => {
  for (const version of ['v2alpha1', 'v2']) {
    lenientPools.forEach((c, i) => {
      test(`${version} pool: ${c.name}`, async () => {
        const name = `lenient-${version}-${i}`;
        const manifest = `apiVersion: cilium.io/${version}\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: ${name}}\nspec: ${c.spec}\n`;
        await cp.kubectl(['apply', '-f', '-'], manifest);
        const stored = JSON.parse(await cp.kubectl(['get', `ciliumloadbalancerippools.${version}.cilium.io`, name, '-o', 'json'])) as { spec: Record<string, unknown> };
        const wanted = (parse(manifest) as { spec: Record<string, unknown> }).spec;
        // As written, plus the one default both CRDs have.
        assert.deepEqual(stored.spec, { disabled: false, ...wanted });
        await cp.kubectl(['delete', 'ippool', name]);
      });
    });
  }

  lenientPolicies.forEach((c, i) => {
    test(`policy: ${c.name}`, async () => {
      const name = `lenient-${i}`;
      const manifest = `apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: ${name}}\nspec: ${c.spec}\n`;
      await cp.kubectl(['apply', '-f', '-'], manifest);
      const stored = JSON.parse(await cp.kubectl(['get', 'l2announcement', name, '-o', 'json'])) as { spec: unknown };
      assert.deepEqual(stored.spec, (parse(manifest) as { spec: unknown }).spec);
      await cp.kubectl(['delete', 'l2announcement', name]);
    });
  });
});
