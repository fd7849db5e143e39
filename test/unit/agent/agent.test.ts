/**
 * The agent wired to fakes (an in-memory apiserver, fake links and sockets,
 * the real clock): what only the wiring can get wrong. The coordination
 * rules themselves are the core's (test/unit/core/l2/agent-core.test.ts).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Agent } from '../../../src/agent/agent.js';
import { ServiceLeaseWriter } from '../../../src/agent/service-leases.js';
import { DEFAULT_COORDINATION } from '../../../src/core/l2/coordination-settings.js';
import { rankCandidates } from '../../../src/core/l2/rendezvous.js';
import type { Lease } from '../../../src/kube/lease-lock.js';
import { silentLogger } from '../../../src/log.js';
import { FakeApi } from '../../support/fake-api.js';
import { FakeLinks, fakeOpener, link } from '../../support/fakes.js';
import { waitFor, sleep } from '../../support/wait.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
const SERVICE_LEASE = 'cilium-l2announce-default-web';
const [first = '', second = '', third = ''] = rankCandidates('default/web', ['node-a', 'node-b', 'node-c']);

interface Status { liveNodes: string[]; view: { current: boolean }; leaseWatch: { restarts: number } }

function serviceLease(holder: string): Lease & { metadata: { name: string } } {
  return {
    metadata: { name: SERVICE_LEASE, namespace: 'kube-system', labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': 'default/web' } },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, leaseTransitions: 0 },
  };
}

/** One agent (`first`, the best-ranked node) among three, the other two played by the test. */
class World {
  readonly api = new FakeApi();
  readonly agent: Agent;
  /** The other nodes whose agents renew their heartbeats (every 500 ms). */
  readonly alive = new Set([second, third]);
  private readonly beats: NodeJS.Timeout;

  constructor(holder: string) {
    const { api } = this;
    for (const name of ['node-a', 'node-b', 'node-c']) api.put('/api/v1/nodes', { metadata: { name } });
    api.put('/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies', { metadata: { name: 'all' }, spec: { loadBalancerIPs: true, interfaces: ['^eth0$'] } });
    api.put('/api/v1/services', { metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
    api.put(LEASES, serviceLease(holder));
    const beat = (): void => {
      for (const n of this.alive) {
        api.put(LEASES, { metadata: { name: `herald-agent-${n}`, labels: { 'herald.io/lease': 'heartbeat' }, annotations: { 'herald.io/up-links': 'eth0' } }, spec: { holderIdentity: n } });
      }
    };
    beat();
    this.beats = setInterval(beat, DEFAULT_COORDINATION.heartbeatIntervalMs);
    const links = new FakeLinks([link('eth0', 2, '02:00:00:00:00:01')]);
    this.agent = new Agent({
      transport: api.transport, clock: () => performance.now(), links, openSocket: fakeOpener(links).open, log: silentLogger,
      settings: {
        nodeName: first, namespace: 'kube-system', coordination: DEFAULT_COORDINATION, loadBalancerClasses: [], externalIPsMustBeInPool: true,
        healthAddress: '127.0.0.1', healthPort: 0, handoverTimeoutMs: 3000,
      },
    });
  }

  status(): Status { return this.agent.status() as Status; }
  holder(): string { return (this.api.get(LEASES, SERVICE_LEASE)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? ''; }

  /** Started, and seeing all three nodes live. */
  async start(): Promise<void> {
    await this.agent.start();
    await waitFor('three live nodes and a current view', () => {
      const st = this.status();
      return st.view.current && st.liveNodes.length === 3 ? true : undefined;
    }, 5000, 20);
  }

  async stop(): Promise<void> {
    clearInterval(this.beats);
    await this.agent.stop();
  }
}

describe('agent wiring', () => {
  const worlds: World[] = [];
  const world = (holder: string): World => {
    const w = new World(holder);
    worlds.push(w);
    return w;
  };
  after(async () => { for (const w of worlds) await w.stop(); });

  it('defect 2: a Lease watch that goes quiet is restarted, and a holder that crashed meanwhile is taken over within the bound', async () => {
    const w = world(third);
    await w.start();
    const t0 = performance.now();
    w.api.stall(LEASES);
    w.alive.delete(third);
    await waitFor(`${first} to claim from the crashed ${third}`, () => (w.holder() === first ? true : undefined), 5000, 10);
    const took = performance.now() - t0;
    // Our next renewal (≤ 500 ms), late on the watch after 500 ms more, then a whole expiry of silence from there.
    assert.ok(took < 2 * DEFAULT_COORDINATION.heartbeatIntervalMs + DEFAULT_COORDINATION.heartbeatExpiryMs + 500, `took ${Math.round(took)} ms`);
    assert.ok(w.status().leaseWatch.restarts >= 1, 'the Lease watch was restarted');
  });

  it('a quiet Lease watch alone moves nothing: restarted, and the live holder keeps its Service', async () => {
    const w = world(second);
    await w.start();
    w.api.stall(LEASES);
    await sleep(3000);
    assert.equal(w.holder(), second);
    const st = w.status();
    assert.ok(st.leaseWatch.restarts >= 1);
    assert.equal(st.view.current, true, 'current again on the restarted watch');
    assert.equal(st.liveNodes.length, 3);
  });

  it('SIGTERM: the holder hands its Service to the best-ranked other live node, then clears its heartbeat', async () => {
    const w = world(first);
    await w.start();
    await w.agent.stop();
    assert.equal(w.holder(), second);
    assert.equal((w.api.get(LEASES, `herald-agent-${first}`)?.spec as { holderIdentity?: string }).holderIdentity, undefined);
  });
});

describe('ServiceLeaseWriter', () => {
  it('writes over the version the core planned from: the watch cache, or its own last write before the watch has it', async () => {
    const api = new FakeApi();
    const stale = api.put(LEASES, serviceLease('node-x'));
    let cached: Lease | undefined = stale;
    const writer = new ServiceLeaseWriter({ transport: api.transport, namespace: 'kube-system', cached: () => cached });
    const write = (holder: string, expectedRv: string | undefined) => writer.write({
      service: 'default/web', action: 'claim', holder, expectedRv, previousHolder: '', reason: 'test',
    });
    const claimed = await write('node-a', stale.metadata.resourceVersion);
    assert.ok(claimed.result === 'ok');
    const rv = claimed.lease.rv;
    // The watch has not delivered the claim: the cache is stale, our own write is the body.
    assert.deepEqual(await write('node-b', rv).then((o) => o.result), 'ok');
    assert.deepEqual(await write('node-c', stale.metadata.resourceVersion).then((o) => o.result), 'lost', 'a stale version loses');
    const now = api.get(LEASES, SERVICE_LEASE) as Lease;
    writer.observed('default/web', now);
    cached = now;
    assert.equal((await write('node-c', now.metadata?.resourceVersion)).result, 'ok');
    assert.equal((api.get(LEASES, SERVICE_LEASE)?.spec as { leaseTransitions?: number }).leaseTransitions, 3);
    assert.equal((await write('', undefined)).result, 'lost', 'a create over an existing Lease loses');
  });
});
