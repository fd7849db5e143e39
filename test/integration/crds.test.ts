/**
 * herald's CRDs on a real kube-apiserver: the seed manifests apply unchanged,
 * kubectl prints Cilium's columns, and typing mistakes are rejected at apply
 * time with a message that names the field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

const invalid: Invalid[] = [
  { name: 'a CIDR with a /33 prefix', manifest: pool('{blocks: [{cidr: 192.0.2.0/33}]}'), field: 'spec.blocks[0].cidr', says: /must be a CIDR/ },
  { name: 'a CIDR that is a word', manifest: pool('{blocks: [{cidr: lan}]}'), field: 'spec.blocks[0].cidr', says: /must be a CIDR/ },
  { name: 'an IPv6 CIDR with a /129 prefix', manifest: pool('{blocks: [{cidr: "2001:db8::/129"}]}'), field: 'spec.blocks[0].cidr', says: /must be a CIDR/ },
  { name: 'a start address with an octet over 255', manifest: pool('{blocks: [{start: 192.0.2.300}]}'), field: 'spec.blocks[0].start', says: /must be an IPv4 or IPv6 address/ },
  { name: 'a stop address that is a host name', manifest: pool('{blocks: [{start: 192.0.2.1, stop: gateway}]}'), field: 'spec.blocks[0].stop', says: /must be an IPv4 or IPv6 address/ },
  { name: 'start and stop of different families', manifest: pool('{blocks: [{start: 192.0.2.1, stop: "2001:db8::9"}]}'), field: 'spec.blocks[0]', says: /same IP family/ },
  { name: 'a block with both cidr and start', manifest: pool('{blocks: [{cidr: 192.0.2.0/28, start: 192.0.2.1}]}'), field: 'spec.blocks[0]', says: /either cidr or start\/stop, not both/ },
  { name: 'a block with a stop and no start', manifest: pool('{blocks: [{stop: 192.0.2.9}]}'), field: 'spec.blocks[0]', says: /stop needs a start/ },
  { name: 'an empty block', manifest: pool('{blocks: [{}]}'), field: 'spec.blocks[0]', says: /needs either cidr or start/ },
  { name: 'allowFirstLastIPs: Maybe', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], allowFirstLastIPs: Maybe}'), field: 'spec.allowFirstLastIPs', says: /Unsupported value: "Maybe".*"Yes", "No"/ },
  { name: 'disabled as a string', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], disabled: "yes"}'), field: 'spec.disabled', says: /boolean/ },
  { name: 'a selector operator that does not exist', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}}'), field: 'spec.serviceSelector.matchExpressions[0].operator', says: /Unsupported value: "Equals"/ },
  { name: 'In without values', manifest: pool('{blocks: [{cidr: 192.0.2.0/28}], serviceSelector: {matchExpressions: [{key: app, operator: In}]}}'), field: 'spec.serviceSelector.matchExpressions[0]', says: /In and NotIn need at least one value/ },
  { name: 'a pool with no spec', manifest: 'apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: bad}\n', field: 'spec', says: /Required value/ },
  { name: 'policy interfaces as a string', manifest: policy('{interfaces: eth0}'), field: 'spec.interfaces', says: /array/ },
  { name: 'policy Exists with values', manifest: policy('{nodeSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}'), field: 'spec.nodeSelector.matchExpressions[0]', says: /take no values/ },
  { name: 'policy loadBalancerIPs as a string', manifest: policy('{loadBalancerIPs: "sure"}'), field: 'spec.loadBalancerIPs', says: /boolean/ },
  { name: 'policy matchLabels value with a space', manifest: policy('{serviceSelector: {matchLabels: {app: "my app"}}}'), field: 'spec.serviceSelector.matchLabels.app', says: /should match/ },
];

describe('typing mistakes are rejected with a message naming the field', () => {
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
