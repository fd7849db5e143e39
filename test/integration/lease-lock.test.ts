/**
 * The Lease helper against a real kube-apiserver: several contenders, exactly
 * one holder at a time, takeover only after the holder has been silent for a
 * lease duration by the contender's own clock, and instant handover.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ControlPlane } from '../../harness/control-plane.js';
import { LeaseLock, type Lease } from '../../src/kube/lease-lock.js';
import { ServiceLeaseWriter } from '../../src/agent/service-leases.js';
import type { WriteOutcome } from '../../src/core/l2/agent-core.js';
import { KubeTransport } from '../../src/kube/transport.js';

const ns = 'lease-test';
let cp: ControlPlane;
let api: CoordinationV1Api;
let transport: KubeTransport;

before(async () => {
  cp = await ControlPlane.start();
  const kc = cp.kubeConfig();
  api = kc.makeApiClient(CoordinationV1Api);
  transport = new KubeTransport(kc);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
});

after(async () => {
  transport.close();
  await cp.stop();
});

function contenders(name: string, n: number, leaseDurationSeconds = 2): LeaseLock[] {
  return Array.from({ length: n }, (_, i) =>
    new LeaseLock({ transport, namespace: ns, name, identity: `node-${i}`, leaseDurationSeconds }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('racing for a free lease: exactly one winner, the others see who won', async () => {
  const locks = contenders('race', 6);
  const outcomes = await Promise.all(locks.map((l) => l.acquireOrRenew()));
  const winners = outcomes.filter((o) => o.held);
  assert.equal(winners.length, 1);
  const lease = await api.readNamespacedLease({ name: 'race', namespace: ns });
  const winner = locks[outcomes.findIndex((o) => o.held)]!;
  assert.equal(lease.spec?.holderIdentity, winner.identity);
  // Everyone else, asking again, is told the holder.
  for (const l of locks.filter((x) => x !== winner)) {
    const again = await l.acquireOrRenew();
    assert.deepEqual(again, { held: false, holder: winner.identity, reason: 'held-by-other' });
  }
});

test('contention over time: never two holders, takeover only after a silent lease duration', async () => {
  const locks = contenders('contended', 5, 2);
  const believed = new Map<string, number>(); // identity -> time it last renewed successfully
  let holderAtStop = '';
  let stoppedAt = 0;
  let takeoverAt = 0;
  const deadline = Date.now() + 9000;
  let stopped: LeaseLock | undefined;
  while (Date.now() < deadline) {
    const active = locks.filter((l) => l !== stopped);
    const outcomes = await Promise.all(active.map((l) => l.acquireOrRenew()));
    const now = Date.now();
    const held = active.filter((_, i) => outcomes[i]?.held);
    assert.ok(held.length <= 1, `two holders at once: ${held.map((l) => l.identity).join(', ')}`);
    for (const l of held) believed.set(l.identity, now);
    const current = held[0];
    if (!stopped && current && now > deadline - 6000) {
      // The holder crashes: it stops renewing and never releases.
      stopped = current;
      holderAtStop = current.identity;
      stoppedAt = now;
    } else if (stopped && current && !takeoverAt) {
      takeoverAt = now;
      assert.notEqual(current.identity, holderAtStop);
    }
    await sleep(150);
  }
  assert.ok(stopped, 'nobody ever held the lease');
  assert.ok(takeoverAt > 0, 'nobody took over from the crashed holder');
  const gap = takeoverAt - stoppedAt;
  assert.ok(gap >= 2000, `taken over after ${gap} ms, before the 2 s lease duration ran out`);
  const lease = await api.readNamespacedLease({ name: 'contended', namespace: ns });
  assert.ok((lease.spec?.leaseTransitions ?? 0) >= 1);
});

test('release lets a contender in at once; handOver names the successor', async () => {
  const [a, b, c] = contenders('handover', 3, 15);
  assert.equal((await a!.acquireOrRenew()).held, true);
  assert.equal((await b!.acquireOrRenew()).held, false, 'a 15 s lease is not free');
  assert.equal(await a!.release(), true);
  assert.equal((await b!.acquireOrRenew()).held, true, 'a released lease is free at once');
  assert.equal(await a!.handOver('node-2'), false, 'a cannot hand over what b holds');
  assert.equal(await b!.handOver('node-2'), true);
  const lease = await api.readNamespacedLease({ name: 'handover', namespace: ns });
  assert.equal(lease.spec?.holderIdentity, 'node-2');
  assert.equal((await c!.acquireOrRenew()).held, true, 'the successor renews what it was handed');
  assert.equal((await b!.acquireOrRenew()).held, false);
});

test('a stale write loses: compare-and-swap on resourceVersion', async () => {
  const [a, b] = contenders('cas', 2, 1);
  assert.equal((await a!.acquireOrRenew()).held, true);
  // b reads the lease, then a renews, then b's view is stale. b waits out the
  // duration, so it will try to take over; a renews in between.
  assert.equal((await b!.acquireOrRenew()).held, false);
  await sleep(1100);
  const [ra, rb] = await Promise.all([a!.acquireOrRenew(), b!.acquireOrRenew()]);
  assert.equal([ra, rb].filter((o) => o.held).length, 1, 'exactly one of the two writes wins');
});

test('ServiceLeaseWriter writes over the version the core planned from: the watch cache, or its own last write before the watch has it', async () => {
  const name = 'cilium-l2announce-default-web';
  const stale = await api.createNamespacedLease({ namespace: ns, body: {
    metadata: { name, labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': 'default/web' } },
    spec: { holderIdentity: 'node-x', leaseDurationSeconds: 15 },
  } });
  const read = async (): Promise<Lease> => transport.json<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`);
  let cached: Lease | undefined = await read();
  const staleRv = stale.metadata?.resourceVersion;
  const writer = new ServiceLeaseWriter({ transport, namespace: ns, cached: () => cached });
  const write = (holder: string, expectedRv: string | undefined): Promise<WriteOutcome> => writer.write({
    service: 'default/web', action: 'claim', holder, expectedRv, previousHolder: '', reason: 'test',
  });
  const claimed = await write('node-a', staleRv);
  assert.ok(claimed.result === 'ok');
  // No watch here: the cache stays stale, so the writer's own last write is the body.
  assert.equal((await write('node-b', claimed.lease.rv)).result, 'ok');
  assert.equal((await write('node-c', staleRv)).result, 'lost', 'a stale version loses');
  const now = await read();
  writer.observed('default/web', now);
  cached = now;
  assert.equal((await write('node-c', now.metadata?.resourceVersion)).result, 'ok');
  const final = await read();
  assert.equal(final.spec?.holderIdentity, 'node-c');
  assert.equal(final.spec.leaseTransitions, 3);
  assert.equal((final.metadata?.labels ?? {})['herald.io/lease'], 'service');
  assert.equal((await write('', undefined)).result, 'lost', 'a create over an existing Lease loses');
});
