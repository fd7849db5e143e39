/**
 * The reader against a stand-in apiserver (plain HTTP on loopback): the paths
 * it asks for, the node proxy and direct access to agents, and what it makes
 * of failures. The lab test (test/integration/explain.test.ts) runs it
 * against a real apiserver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeTransport } from '../../../src/kube/transport.js';
import { readCluster, readAgent } from '../../../src/inspect/cluster-reader.js';
import { node, nodeLease } from './fixtures.js';

let api: Server;
let agent: Server;
let apiPort = 0;
let agentPort = 0;
const asked: string[] = [];
/** Per path: a status and a body; anything else is 404. */
const routes = new Map<string, { status: number; body: unknown }>();

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => { server.listen(0, '127.0.0.1', () => { resolve((server.address() as AddressInfo).port); }); });
}

function transport(): KubeTransport {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${apiPort}`, skipTLSVerify: true }],
    users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return new KubeTransport(kc);
}

const localNode = Object.assign(node('node-a'), { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } });

before(async () => {
  api = createServer((req, res) => {
    asked.push(req.url ?? '');
    const r = routes.get(req.url ?? '') ?? { status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'not found' } };
    res.writeHead(r.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(r.body));
  });
  agent = createServer((req, res) => {
    res.writeHead(req.url === '/status' ? 200 : 404).end(JSON.stringify({ node: 'node-a', macs: { eth0: '02:00:00:00:00:0a' } }));
  });
  apiPort = await listen(api);
  agentPort = await listen(agent);
  routes.set('/apis/cilium.io/v2alpha1', { status: 200, body: { resources: [{ name: 'ciliumloadbalancerippools' }] } });
  for (const path of ['/api/v1/services', '/apis/cilium.io/v2alpha1/ciliumloadbalancerippools', '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies', '/apis/discovery.k8s.io/v1/endpointslices']) {
    routes.set(path, { status: 200, body: { items: [] } });
  }
  routes.set('/api/v1/nodes', { status: 200, body: { items: [localNode] } });
  routes.set('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=herald.io%2Flease', { status: 200, body: { items: [nodeLease('node-a')] } });
  routes.set('/apis/gateway.networking.k8s.io/v1/gateways', { status: 403, body: { kind: 'Status', reason: 'Forbidden', message: 'gateways is forbidden' } });
  routes.set('/api/v1/nodes/node-a%3A9964/proxy/status', { status: 200, body: { node: 'node-a', macs: { eth0: '02:00:00:00:00:0a' } } });
  routes.set('/api/v1/nodes/node-b%3A9964/proxy/status', { status: 403, body: { kind: 'Status', reason: 'Forbidden', message: 'nodes "node-b" is forbidden' } });
});

after(async () => {
  await new Promise((r) => { api.close(r); });
  await new Promise((r) => { agent.close(r); });
});

const base = { leaseNamespace: 'kube-system', agentPort: 9964, timeoutMs: 2000 } as const;

test('one list of each kind, the node proxy for the agents that run, and a Gateway list it may not read is a note', async () => {
  asked.length = 0;
  const t = transport();
  try {
    const s = await readCluster(t, { ...base, agents: 'proxy' }, ['cilium-l2announce-default-web']);
    assert.equal(s.agents.get('node-a')?.reachable, true);
    assert.equal(s.agentAccess, 'proxy');
    assert.ok(asked.includes('/api/v1/nodes/node-a%3A9964/proxy/status'));
    assert.ok(asked.includes('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/cilium-l2announce-default-web'), 'a Service Lease without herald\'s label is read by name');
    assert.deepEqual(s.problems, ['Gateways not read (not allowed: GET /apis/gateway.networking.k8s.io/v1/gateways: 403 Forbidden: gateways is forbidden): Services generated for a Gateway are matched on their own labels only']);
  } finally {
    t.close();
  }
});

test('an agent behind a 403 says which permission is missing; direct access reads the InternalIP; a dead port is one line', async () => {
  const t = transport();
  try {
    const forbidden = await readAgent(t, node('node-b'), { agents: 'proxy', agentPort: 9964, timeoutMs: 2000 });
    assert.deepEqual(forbidden, { reachable: false, error: 'through the apiserver\'s node proxy: not allowed (RBAC: get on nodes/proxy), or use --agents=direct' });
    const direct = await readAgent(t, localNode, { agents: 'direct', agentPort, timeoutMs: 2000 });
    assert.deepEqual(direct, { reachable: true, status: { node: 'node-a', macs: { eth0: '02:00:00:00:00:0a' } } });
    const closed = await readAgent(t, localNode, { agents: 'direct', agentPort: 1, timeoutMs: 2000 });
    assert.ok(!closed.reachable);
    assert.match(closed.error, /^at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    const noIp = await readAgent(t, node('node-c'), { agents: 'direct', agentPort, timeoutMs: 2000 });
    assert.deepEqual(noIp, { reachable: false, error: 'the Node has no InternalIP address (--agents=direct needs one)' });
  } finally {
    t.close();
  }
});

test('an apiserver that refuses the credentials or is not there is one clear error', async () => {
  const t = transport();
  routes.set('/api/v1/services', { status: 401, body: { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' } });
  try {
    await assert.rejects(readCluster(t, { ...base, agents: 'none' }), /rejected the kubeconfig's credentials \(401 Unauthorized\)/);
  } finally {
    routes.set('/api/v1/services', { status: 200, body: { items: [] } });
    t.close();
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const away = new KubeTransport(kc);
  try {
    await assert.rejects(readCluster(away, { ...base, agents: 'none' }), /^ApiUnreachableError: cannot reach the apiserver at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  } finally {
    away.close();
  }
});

test('an apiserver that accepts and never answers is said within --timeout', async () => {
  const silent = createServer(() => { /* never answers */ });
  const port = await listen(silent);
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const t = new KubeTransport(kc);
  const started = Date.now();
  try {
    await assert.rejects(readCluster(t, { ...base, timeoutMs: 300, agents: 'none' }), new RegExp(`no answer from the apiserver at http://127\\.0\\.0\\.1:${port} within 300 ms`));
    assert.ok(Date.now() - started < 5000);
  } finally {
    t.close();
    silent.closeAllConnections();
    await new Promise((r) => { silent.close(r); });
  }
});
