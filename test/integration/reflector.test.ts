/**
 * The reflector against a real kube-apiserver that is restarted and frozen
 * in the middle of a watch. A second apiserver on the same etcd changes the
 * cluster while the first is away, so the reflector must catch up on changes
 * it could not have seen on its own connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { ControlPlane } from '../../harness/control-plane.js';
import { Reflector, objectKey, type ReflectorEvent } from '../../src/kube/reflector.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/log.js';

const ns = 'reflector-test';
let cp: ControlPlane;
let other: { kubeconfigPath: string; stop: () => Promise<void> };
let writer: CoreV1Api;

before(async () => {
  cp = await ControlPlane.start();
  other = await cp.startExtraApiserver();
  writer = cp.kubeConfig(other.kubeconfigPath).makeApiClient(CoreV1Api);
  await writer.createNamespace({ body: { metadata: { name: ns } } });
});

after(async () => {
  await cp.stop();
});

async function truth(): Promise<Map<string, string>> {
  const list = await writer.listNamespacedConfigMap({ namespace: ns });
  return new Map(list.items.map((c) => [objectKey(c), c.metadata?.resourceVersion ?? '']));
}

function versions(r: Reflector<V1ConfigMap>): Map<string, string> {
  return new Map(r.list().map((c) => [objectKey(c), c.metadata?.resourceVersion ?? '']));
}

/** A consumer that rebuilds the state from events alone. */
function eventView(r: Reflector<V1ConfigMap>): Map<string, string> {
  const view = new Map<string, string>();
  r.onEvent((e: ReflectorEvent<V1ConfigMap>) => {
    if (e.type === 'deleted') {
      assert.ok(view.delete(objectKey(e.object)), `delete of ${objectKey(e.object)}, which was never added`);
    } else {
      if (e.type === 'added') assert.ok(!view.has(objectKey(e.object)), `second add of ${objectKey(e.object)}`);
      else assert.ok(view.has(objectKey(e.object)), `update of ${objectKey(e.object)}, which was never added`);
      view.set(objectKey(e.object), e.object.metadata?.resourceVersion ?? '');
    }
  });
  return view;
}

async function converge(r: Reflector<V1ConfigMap>, view: Map<string, string>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let want = await truth();
  while (Date.now() < deadline) {
    want = await truth();
    const have = versions(r);
    if (have.size === want.size && [...want].every(([k, v]) => have.get(k) === v)) {
      assert.deepEqual(new Map([...view].sort()), new Map([...want].sort()), 'events and cache disagree');
      return;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.deepEqual(new Map([...versions(r)].sort()), new Map([...want].sort()), 'the cache did not converge');
}

async function churn(tag: string, keep: number): Promise<void> {
  const current = await writer.listNamespacedConfigMap({ namespace: ns });
  const names = current.items.map((c) => c.metadata?.name ?? '').sort();
  for (const name of names.slice(0, 3)) await writer.deleteNamespacedConfigMap({ name, namespace: ns });
  for (const name of names.slice(3, 6)) {
    const cm = await writer.readNamespacedConfigMap({ name, namespace: ns });
    await writer.replaceNamespacedConfigMap({ name, namespace: ns, body: { ...cm, data: { changed: tag } } });
  }
  for (let i = 0; i < keep; i++) {
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `${tag}-${i}` }, data: { n: String(i) } } });
  }
}

function reflectorFor(kc: KubeConfig, idleTimeoutMs: number): Reflector<V1ConfigMap> {
  return new Reflector<V1ConfigMap>({
    transport: new KubeTransport(kc),
    path: `/api/v1/namespaces/${ns}/configmaps`,
    log: silentLogger,
    pageSize: 7, // several pages, so the paging path is exercised too
    idleTimeoutMs,
    backoff: { initialMs: 100, maxMs: 1000 },
    requestTimeoutMs: 3000,
  });
}

test('an apiserver restart mid-watch: the cache converges, nothing lost, nothing phantom', async () => {
  for (let i = 0; i < 20; i++) {
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `first-${i}` }, data: { n: String(i) } } });
  }
  const r = reflectorFor(cp.kubeConfig(), 90_000);
  const view = eventView(r);
  r.start();
  try {
    await r.waitSynced();
    await converge(r, view);
    await cp.stopApiserver();
    await churn('while-down', 5);
    await cp.startApiserver();
    await converge(r, view);
    assert.ok(r.stats.errors + r.stats.relistsOnGone >= 1, 'the reflector never noticed the restart');
    // And it keeps watching after the restart: a live change arrives.
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-restart' } } });
    await converge(r, view);
    assert.ok(r.get(`${ns}/after-restart`));
  } finally {
    await r.stop();
  }
});

test('a frozen apiserver (no FIN, no RST): the watchdog restarts the watch and the cache converges', async () => {
  const r = reflectorFor(cp.kubeConfig(), 2000);
  const view = eventView(r);
  r.start();
  try {
    await r.waitSynced();
    await converge(r, view);
    cp.pauseApiserver();
    try {
      await churn('while-frozen', 4);
      await new Promise((res) => setTimeout(res, 5000));
    } finally {
      cp.resumeApiserver();
    }
    await converge(r, view);
    assert.ok(r.stats.watchdogFires >= 1, 'the watchdog never fired');
  } finally {
    await r.stop();
  }
});

test('deleting everything while the apiserver is down leaves no phantom objects', async () => {
  const r = reflectorFor(cp.kubeConfig(), 90_000);
  const view = eventView(r);
  r.start();
  try {
    await r.waitSynced();
    assert.ok(r.size > 0);
    await cp.stopApiserver();
    await writer.deleteCollectionNamespacedConfigMap({ namespace: ns });
    await cp.startApiserver();
    await converge(r, view);
    assert.equal(r.size, 0);
  } finally {
    await r.stop();
  }
});

test('restart() abandons a live watch and resumes from the last resourceVersion at once: no re-list, no event lost', async () => {
  const r = reflectorFor(cp.kubeConfig(), 90_000);
  const view = eventView(r);
  r.start();
  try {
    await r.waitSynced();
    await converge(r, view);
    const lists = r.stats.lists;
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before-restart' } } });
    await converge(r, view);
    r.restart('test: as if the watch had gone quiet');
    // Changes made right away must come through the resumed watch.
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-restart-1' } } });
    await converge(r, view);
    assert.ok(r.get(`${ns}/after-restart-1`));
    assert.equal(r.stats.restarts, 1);
    assert.equal(r.stats.lists, lists, 'resumed from its resourceVersion, without a re-list');
    assert.equal(r.stats.errors, 0);
  } finally {
    await r.stop();
  }
});

test('restart() cuts a backoff short: the watch resumes as soon as it is asked, not when the backoff ends', async () => {
  const r = new Reflector<V1ConfigMap>({
    transport: new KubeTransport(cp.kubeConfig()), path: `/api/v1/namespaces/${ns}/configmaps`, log: silentLogger,
    backoff: { initialMs: 60_000, maxMs: 60_000 }, requestTimeoutMs: 3000,
  });
  const view = eventView(r);
  r.start();
  try {
    await r.waitSynced();
    await cp.stopApiserver();
    const deadline = Date.now() + 30_000;
    while (r.stats.errors === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(r.stats.errors >= 1, 'the watch never failed');
    await cp.startApiserver();
    await writer.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-backoff' } } });
    const asked = Date.now();
    r.restart('test');
    await converge(r, view, 20_000);
    assert.ok(Date.now() - asked < 20_000, 'caught up long before the 60 s backoff');
    assert.ok(r.get(`${ns}/after-backoff`));
  } finally {
    await r.stop();
  }
});

interface SlimConfigMap {
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

/** Keeps identity, one annotation and one data key: what a consumer that reads only those would cache. */
function slimConfigMap(raw: unknown): SlimConfigMap {
  const cm = raw as V1ConfigMap;
  const m = cm.metadata ?? {};
  const note = m.annotations?.['herald.io/keep'];
  const keep = cm.data?.keep;
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, ...(note === undefined ? {} : { annotations: { 'herald.io/keep': note } }) },
    ...(keep === undefined ? {} : { data: { keep } }),
  };
}

test('a transform applies to listed and watched objects before they are cached or emitted', async () => {
  const body = (name: string, tag: string): V1ConfigMap => ({
    metadata: { name, annotations: { 'herald.io/keep': tag, 'example.com/unused': 'x'.repeat(200) } },
    data: { keep: tag, drop: 'y'.repeat(200) },
  });
  await writer.createNamespacedConfigMap({ namespace: ns, body: body('slim-listed', 'one') });
  const stored = await writer.readNamespacedConfigMap({ name: 'slim-listed', namespace: ns });
  assert.ok((stored.metadata?.managedFields ?? []).length > 0, 'the apiserver stores managedFields, so dropping them means something');
  const r = new Reflector<SlimConfigMap>({
    transport: new KubeTransport(cp.kubeConfig()), path: `/api/v1/namespaces/${ns}/configmaps`, log: silentLogger,
    backoff: { initialMs: 100, maxMs: 1000 }, transform: slimConfigMap,
  });
  const emitted: SlimConfigMap[] = [];
  // Only this test's objects: other tests leave ConfigMaps of their own in the namespace.
  const mine = (o: SlimConfigMap): boolean => o.metadata.name?.startsWith('slim-') === true;
  r.onEvent((e) => {
    if (!mine(e.object)) return;
    emitted.push(e.object);
    if (e.type === 'updated') emitted.push(e.old);
  });
  const slim = (o: SlimConfigMap | undefined, tag: string): void => {
    assert.ok(o);
    assert.deepEqual(Object.keys(o).sort(), ['data', 'metadata']);
    assert.deepEqual(Object.keys(o.metadata).sort(), ['annotations', 'name', 'namespace', 'resourceVersion', 'uid']);
    assert.deepEqual(o.metadata.annotations, { 'herald.io/keep': tag });
    assert.deepEqual(o.data, { keep: tag });
  };
  r.start();
  try {
    await r.waitSynced();
    slim(r.get(`${ns}/slim-listed`), 'one');  // from the list
    await writer.createNamespacedConfigMap({ namespace: ns, body: body('slim-watched', 'two') });
    await writer.replaceNamespacedConfigMap({ name: 'slim-listed', namespace: ns, body: { ...body('slim-listed', 'three'), metadata: { ...body('slim-listed', 'three').metadata, resourceVersion: stored.metadata?.resourceVersion } } });
    await writer.deleteNamespacedConfigMap({ name: 'slim-watched', namespace: ns });
    const deadline = Date.now() + 30_000;
    while (r.get(`${ns}/slim-listed`)?.data?.keep !== 'three' || r.get(`${ns}/slim-watched`) !== undefined || emitted.length < 5) {
      assert.ok(Date.now() < deadline, 'the watch events did not arrive');
      await new Promise((res) => setTimeout(res, 100));
    }
    slim(r.get(`${ns}/slim-listed`), 'three');  // from a MODIFIED event
    // added (list), added + deleted (watch), updated (new and old): all slim.
    for (const o of emitted) slim(o, o.data?.keep ?? '?');
    assert.equal(r.lastResourceVersion !== '', true);
  } finally {
    await r.stop();
  }
});
