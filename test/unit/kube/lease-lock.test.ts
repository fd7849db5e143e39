import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeTransport } from '../../../src/kube/transport.js';
import { LeaseLock, microTime, writeLease, type Lease } from '../../../src/kube/lease-lock.js';

// Expiry is pure bookkeeping on observations; the API is never called here.
const noApi = {} as KubeTransport;

function lease(rv: string, holder: string, renewTime: Date): Lease {
  return { metadata: { name: 'l', namespace: 'ns', resourceVersion: rv }, spec: { holderIdentity: holder, leaseDurationSeconds: 2, renewTime: microTime(renewTime) } };
}

test('expiry counts from when this process saw the lease change, not from its timestamps', () => {
  let now = 1_000;
  const lock = new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 2, now: () => now });
  assert.equal(lock.expired(), true, 'never seen: free to try');
  // A renewTime an hour in the past (a skewed clock) does not make it expired.
  lock.observe(lease('1', 'other', new Date(Date.now() - 3_600_000)));
  assert.equal(lock.expired(), false);
  assert.equal(lock.holder, 'other');
  now += 1_999;
  assert.equal(lock.expired(), false);
  now += 1;
  assert.equal(lock.expired(), true);
});

test('seeing the same version again does not restart the clock, a new version does', () => {
  let now = 0;
  const lock = new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 2, now: () => now });
  lock.observe(lease('7', 'other', new Date()));
  now = 1_500;
  lock.observe(lease('7', 'other', new Date()));
  now = 2_100;
  assert.equal(lock.expired(), true, 'a repeated observation is not a renewal');
  lock.observe(lease('8', 'other', new Date()));
  assert.equal(lock.expired(), false, 'a renewal restarts the count');
});

test('a lease duration under one second is refused', () => {
  assert.throws(() => new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 0 }), RangeError);
});

test('MicroTime has six fractional digits, as the apiserver expects', () => {
  assert.equal(microTime(new Date('2026-11-26T03:04:05.678Z')), '2026-11-26T03:04:05.678000Z');
});

/** A transport that records each request and answers with `reply`. */
function recording(reply: (method: string, path: string, body: Lease) => Lease | KubeApiError): { transport: KubeTransport; calls: { method: string; path: string; body: Lease }[] } {
  const calls: { method: string; path: string; body: Lease }[] = [];
  const transport = {
    json: (path: string, opts: { method?: string; body?: unknown }) => {
      const call = { method: opts.method ?? 'GET', path, body: opts.body as Lease };
      calls.push(call);
      const r = reply(call.method, path, call.body);
      return r instanceof KubeApiError ? Promise.reject(r) : Promise.resolve(r);
    },
  } as unknown as KubeTransport;
  return { transport, calls };
}

const written = (_m: string, _p: string, body: Lease): Lease => ({ ...body, metadata: { ...body.metadata, resourceVersion: '99' } });

/** The fields a test looks at, so one deepEqual shows all of them. */
function seen(call: { method: string; path: string; body: Lease } | undefined): Record<string, unknown> {
  const spec = call?.body.spec;
  return { method: call?.method, path: call?.path, rv: call?.body.metadata?.resourceVersion, holder: spec?.holderIdentity, transitions: spec?.leaseTransitions, duration: spec?.leaseDurationSeconds };
}

test('writeLease creates a missing Lease with POST: holder, labels, annotations, no transitions', async () => {
  const { transport, calls } = recording(written);
  const lease = await writeLease(transport, {
    namespace: 'kube-system', name: 'cilium-l2announce-default-web', current: undefined, holder: 'node-a', leaseDurationSeconds: 15,
    labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': 'default/web' },
  });
  assert.equal(lease?.metadata?.resourceVersion, '99');
  assert.equal(calls.length, 1);
  assert.deepEqual(seen(calls[0]), { method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', rv: undefined, holder: 'node-a', transitions: 0, duration: 15 });
  assert.deepEqual(calls[0]?.body.metadata, { name: 'cilium-l2announce-default-web', namespace: 'kube-system', labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': 'default/web' } });
});

test('writeLease replaces an observed Lease with PUT on its resourceVersion; a change of hands counts a transition', async () => {
  const { transport, calls } = recording(written);
  const current: Lease = {
    metadata: { name: 'l', namespace: 'ns', resourceVersion: '41', labels: { keep: 'me' }, annotations: { 'herald.io/service': 'default/web' } },
    spec: { holderIdentity: 'node-a', leaseDurationSeconds: 15, acquireTime: 'then', leaseTransitions: 3 },
  };
  await writeLease(transport, { namespace: 'ns', name: 'l', current, holder: 'node-b', leaseDurationSeconds: 15, labels: { 'herald.io/lease': 'service' } });
  // The compare-and-swap is on the observed version.
  assert.deepEqual(seen(calls[0]), { method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', rv: '41', holder: 'node-b', transitions: 4, duration: 15 });
  const meta = calls[0]?.body.metadata;
  assert.deepEqual([meta?.labels, meta?.annotations], [{ keep: 'me', 'herald.io/lease': 'service' }, { 'herald.io/service': 'default/web' }]);
  assert.notEqual(calls[0]?.body.spec?.acquireTime, 'then');
  // Renewing (same holder) and releasing ('') count no transition; a release clears the holder.
  await writeLease(transport, { namespace: 'ns', name: 'l', current, holder: 'node-a', leaseDurationSeconds: 15 });
  assert.deepEqual([seen(calls[1]).transitions, calls[1]?.body.spec?.acquireTime], [3, 'then']);
  await writeLease(transport, { namespace: 'ns', name: 'l', current, holder: '', leaseDurationSeconds: 15 });
  assert.deepEqual([seen(calls[2]).holder, seen(calls[2]).transitions], [undefined, 3]);
});

test('writeLease: a lost race is undefined (409, or 404 for a PUT); other errors are thrown', async () => {
  const current: Lease = { metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' }, spec: {} };
  const failing = (status: number) => recording(() => new KubeApiError(status, 'x', 'x', 'PUT', '/')).transport;
  const req = { namespace: 'ns', name: 'l', holder: 'me', leaseDurationSeconds: 15 };
  assert.equal(await writeLease(failing(409), { ...req, current }), undefined);
  assert.equal(await writeLease(failing(404), { ...req, current }), undefined);
  assert.equal(await writeLease(failing(409), { ...req, current: undefined }), undefined);
  await assert.rejects(writeLease(failing(404), { ...req, current: undefined }), KubeApiError, 'no namespace: an error, not a lost race');
  await assert.rejects(writeLease(failing(500), { ...req, current }), KubeApiError);
});
