import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeconfigError, SimpleKubeAccess, loadKubeAccess, type KubeAccess } from '../../../src/kube/kubeconfig.js';

function withDir(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-kubeconfig-'));
    try { await f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(cluster: object, user: object): object {
  return {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'ctx',
    clusters: [{ name: 'other', cluster: { server: 'https://192.0.2.99' } }, { name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
  };
}

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : 'not a Buffer');
const authorization = (o: RequestOptions): unknown => (o.headers as OutgoingHttpHeaders | undefined)?.Authorization;

async function applied(access: KubeAccess): Promise<RequestOptions> {
  const opts: RequestOptions = { headers: { Accept: 'application/json' } };
  await access.applyToHTTPSOptions(opts);
  return opts;
}

test('a client-certificate kubeconfig (YAML, inline data) needs no client-node', withDir(async (dir) => {
  const file = join(dir, 'config');
  writeFileSync(file, stringify(kubeconfig(
    { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64('CA') },
    { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') })));
  const access = await loadKubeAccess({ path: file });
  assert.ok(access instanceof SimpleKubeAccess);
  assert.equal(access.getCurrentCluster().server, 'https://127.0.0.1:6443');
  const opts = await applied(access);
  assert.equal(text(opts.ca), 'CA');
  assert.equal(text(opts.cert), 'CERT');
  assert.equal(text(opts.key), 'KEY');
  assert.deepEqual(opts.headers, { Accept: 'application/json' });
}));

test('files are read relative to the kubeconfig; a token file is read again after a minute', withDir(async (dir) => {
  mkdirSync(join(dir, 'pki'));
  writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA-FILE');
  writeFileSync(join(dir, 'token'), 'first\n');
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(kubeconfig(
    { server: 'https://[2001:db8::1]:6443', 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'kubernetes' },
    { tokenFile: 'token' })));
  let now = 0;
  const access = await loadKubeAccess({ path: file, now: () => now });
  const first = await applied(access);
  assert.equal(text(first.ca), 'CA-FILE');
  assert.equal(first.servername, 'kubernetes');
  assert.deepEqual(first.headers, { Accept: 'application/json', Authorization: 'Bearer first' });
  writeFileSync(join(dir, 'token'), 'second\n');
  now = 59_000;
  assert.equal(authorization(await applied(access)), 'Bearer first');
  now = 60_000;
  assert.equal(authorization(await applied(access)), 'Bearer second');
  // A token file that disappears keeps the last token rather than failing every request.
  rmSync(join(dir, 'token'));
  now = 200_000;
  assert.equal(authorization(await applied(access)), 'Bearer second');
}));

test('a static token and insecure-skip-tls-verify', withDir(async (dir) => {
  const file = join(dir, 'config');
  writeFileSync(file, stringify(kubeconfig({ server: 'https://192.0.2.1', 'insecure-skip-tls-verify': true }, { token: 'abc' })));
  const opts = await applied(await loadKubeAccess({ path: file }));
  assert.equal(opts.rejectUnauthorized, false);
  assert.equal(authorization(opts), 'Bearer abc');
}));

test('an exec plugin (or any field this loader does not read) goes to client-node', withDir(async (dir) => {
  const file = join(dir, 'config');
  writeFileSync(file, stringify(kubeconfig({ server: 'https://192.0.2.1' },
    { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true', interactiveMode: 'Never' } })));
  const access = await loadKubeAccess({ path: file });
  assert.ok(!(access instanceof SimpleKubeAccess));
  assert.equal(access.constructor.name, 'KubeConfig');
  assert.equal(access.getCurrentCluster()?.server, 'https://192.0.2.1');
  writeFileSync(file, stringify(kubeconfig({ server: 'https://192.0.2.1', 'proxy-url': 'http://192.0.2.2:3128' }, { token: 't' })));
  assert.equal((await loadKubeAccess({ path: file })).constructor.name, 'KubeConfig');
}));

test('in a cluster: the service account token (re-read) and CA, IPv6 in brackets', withDir(async (dir) => {
  writeFileSync(join(dir, 'ca.crt'), 'SA-CA');
  writeFileSync(join(dir, 'token'), 'sa-token');
  let now = 0;
  const access = await loadKubeAccess({
    env: { KUBERNETES_SERVICE_HOST: '2001:db8::a', KUBERNETES_SERVICE_PORT: '443' }, home: dir, serviceAccountDir: dir, now: () => now,
  });
  assert.equal(access.getCurrentCluster()?.server, 'https://[2001:db8::a]:443');
  const opts = await applied(access);
  assert.equal(text(opts.ca), 'SA-CA');
  assert.equal(authorization(opts), 'Bearer sa-token');
  writeFileSync(join(dir, 'token'), 'rotated');
  now = 61_000;
  assert.equal(authorization(await applied(access)), 'Bearer rotated');
}));

test('the order: --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then in-cluster', withDir(async (dir) => {
  const write = (path: string, server: string): void => {
    writeFileSync(path, stringify(kubeconfig({ server }, { token: 't' })));
  };
  mkdirSync(join(dir, '.kube'));
  write(join(dir, '.kube', 'config'), 'https://192.0.2.3');
  write(join(dir, 'env'), 'https://192.0.2.2');
  write(join(dir, 'flag'), 'https://192.0.2.1');
  const inCluster = { KUBERNETES_SERVICE_HOST: '192.0.2.4', KUBERNETES_SERVICE_PORT: '443' };
  const server = async (o: Parameters<typeof loadKubeAccess>[0]): Promise<string | undefined> => (await loadKubeAccess(o)).getCurrentCluster()?.server;
  assert.equal(await server({ path: join(dir, 'flag'), env: { KUBECONFIG: join(dir, 'env') }, home: dir }), 'https://192.0.2.1');
  assert.equal(await server({ env: { KUBECONFIG: join(dir, 'env'), ...inCluster }, home: dir }), 'https://192.0.2.2');
  assert.equal(await server({ env: inCluster, home: dir }), 'https://192.0.2.3');
  await assert.rejects(loadKubeAccess({ env: {}, home: join(dir, 'nowhere') }), KubeconfigError);
}));

test('a kubeconfig without a usable current context is refused with the reason', withDir(async (dir) => {
  const file = join(dir, 'config');
  writeFileSync(file, stringify({ ...kubeconfig({ server: 'https://192.0.2.1' }, {}), 'current-context': 'missing' }));
  await assert.rejects(loadKubeAccess({ path: file }), /no context named missing/);
  writeFileSync(file, stringify({ ...kubeconfig({ server: 'https://192.0.2.1' }, {}), 'current-context': undefined }));
  await assert.rejects(loadKubeAccess({ path: file }), /no current-context/);
}));
