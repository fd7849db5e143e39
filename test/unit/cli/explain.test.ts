import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTarget } from '../../../src/cli/explain.js';
import { UsageError } from '../../../src/cli/command.js';
import { contextNamespace, inspectSettings, kubeConfigFor } from '../../../src/cli/inspect-options.js';

test('a Service is NAMESPACE/NAME, or NAME (also svc/NAME) in -n or the context\'s namespace', () => {
  assert.deepEqual(parseTarget('prod/web', undefined), { namespace: 'prod', name: 'web' });
  assert.deepEqual(parseTarget('web', undefined), { namespace: undefined, name: 'web' });
  assert.deepEqual(parseTarget('web', 'prod'), { namespace: 'prod', name: 'web' });
  assert.deepEqual(parseTarget('svc/web', 'prod'), { namespace: 'prod', name: 'web' });
  for (const bad of ['a/b/c', '/web', 'prod/', '']) assert.throws(() => parseTarget(bad, undefined), (err: unknown) => err instanceof UsageError && /NAMESPACE\/SERVICE/.test(err.message));
  assert.throws(() => parseTarget('prod/web', 'dev'), /names namespace prod, but -n says dev/);
});

test('flags: output, agents, port and durations are checked', () => {
  const s = inspectSettings({});
  assert.equal(s.output, 'text');
  assert.equal(s.read.agents, 'proxy');
  assert.equal(s.read.agentPort, 9964);
  assert.equal(s.read.timeoutMs, 5000);
  assert.equal(inspectSettings({ output: 'yaml', agents: 'direct', 'agent-port': '19964', timeout: '1s' }).read.timeoutMs, 1000);
  assert.throws(() => inspectSettings({ output: 'xml' }), /text, json or yaml/);
  assert.throws(() => inspectSettings({ agents: 'ssh' }), /proxy, direct, none/);
  assert.throws(() => inspectSettings({ 'agent-port': '99999' }), /--agent-port/);
});

test('no kubeconfig anywhere is a clear error; a context\'s namespace is the default one', () => {
  const home = mkdtempSync(join(tmpdir(), 'herald-home-'));
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    assert.throws(() => kubeConfigFor({ kubeconfig: undefined, context: undefined }, { KUBECONFIG: '' }), /no kubeconfig: set \$KUBECONFIG, create ~\/.kube\/config or pass --kubeconfig/);
  } finally {
    process.env.HOME = saved;
  }
  const file = join(home, 'kc.yaml');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {}}]',
    'contexts: [{name: x, context: {cluster: c, user: u, namespace: prod}}, {name: y, context: {cluster: c, user: u}}]', 'current-context: x',
  ].join('\n'));
  assert.equal(contextNamespace(kubeConfigFor({ kubeconfig: file, context: undefined })), 'prod');
  assert.equal(contextNamespace(kubeConfigFor({ kubeconfig: file, context: 'y' })), 'default');
  assert.throws(() => kubeConfigFor({ kubeconfig: file, context: 'z' }), /no context "z"/);
});
