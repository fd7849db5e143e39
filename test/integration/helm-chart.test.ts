/**
 * The Helm chart (deploy/helm/herald) with a helm built from its Go module:
 * it lints, its schema refuses bad values with a message naming them,
 * deploy/manifests is what it renders, a real kube-apiserver accepts every
 * object it renders, `helm install` creates them all without touching CRDs
 * that already exist (as Cilium's would), and `helm uninstall` removes them
 * while the pools and the Services' addresses stay; a reinstall keeps them.
 * (No kube-controller-manager or kubelet: the pods never run. The operator
 * runs from dist/ as the chart's ServiceAccount instead.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { agentSettings } from '../../src/cli/agent.js';
import { operatorSettings } from '../../src/cli/operator.js';
import { parseSettings, type SettingDefs } from '../../src/cli/settings.js';
import { chartOwnedFlags } from '../../tools/gen-chart-schema.js';
import { chartDir, manifestsDir, renderCommand, renderManifests, splitRendered } from '../../tools/render-manifests.js';
import { ControlPlane, helmBinary } from '../../harness/control-plane.js';
import { crdDirectory, repoRoot } from '../../harness/paths.js';
import { heraldCrds, waitForCrds } from '../../harness/crds.js';
import type { HeraldProcess } from '../../harness/herald-process.js';
import { apply, getService, poolManifest, serviceManifest } from '../../harness/kube-objects.js';
import { startOperator } from '../../harness/operator-setup.js';
import { waitFor } from '../../harness/wait.js';

const helm = helmBinary();
// helm keeps its caches and settings here, not in the user's home.
const helmHome = mkdtempSync(join(tmpdir(), 'herald-helm-'));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data'),
};

interface Run { code: number; stdout: string; stderr: string }

function runHelm(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(helm, args, { env: helmEnv, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function helmOk(args: readonly string[]): Promise<string> {
  const r = await runHelm(args);
  assert.equal(r.code, 0, `helm ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const allOn = `${chartDir}ci/all-on-values.yaml`;
const podMonitors = `${chartDir}ci/podmonitor-values.yaml`;

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: unknown }

function objects(rendered: string): K8sObject[] {
  return splitRendered(rendered)
    .flatMap((d) => parseAllDocuments(d.text).map((doc) => doc.toJS() as K8sObject | null))
    .filter((o): o is K8sObject => o !== null);
}

const ref = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

after(() => { rmSync(helmHome, { recursive: true, force: true }); });

describe('the chart', () => {
  test('helm lint --strict passes with the default values and with every option on', async () => {
    for (const values of [[], ['-f', allOn], ['-f', podMonitors]]) {
      const out = await helmOk(['lint', '--strict', chartDir, ...values]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  const refused: { name: string; set: string[]; says: RegExp }[] = [
    { name: 'a flag of the wrong type', set: ['agent.config.hello-interval=true'], says: /\/agent\/config\/hello-interval': got boolean, want integer or string/ },
    { name: 'a misspelt flag', set: ['agent.config.helo-interval=1s'], says: /\/agent\/config': additional properties 'helo-interval' not allowed/ },
    { name: 'a flag the chart sets itself', set: ['agent.config.node-name=node-a'], says: /additional properties 'node-name' not allowed/ },
    { name: 'a duration that is no duration', set: ['operator.config.lease-duration=soon'], says: /\/operator\/config\/lease-duration'.*does not match pattern/s },
    { name: 'an unknown log level', set: ['operator.config.log-level=loud'], says: /\/operator\/config\/log-level': value must be one of 'trace'/ },
    { name: 'replicas as a word', set: ['operator.replicas=two'], says: /\/operator\/replicas': got string, want integer/ },
    { name: 'a misspelt top-level key', set: ['agnet.enabled=true'], says: /additional properties 'agnet' not allowed/ },
    { name: 'an image digest that is a tag', set: ['image.digest=latest'], says: /\/image\/digest'.*does not match pattern/s },
    { name: 'a grace period shorter than the handover', set: ['agent.terminationGracePeriodSeconds=4'], says: /terminationGracePeriodSeconds \(4 s\) must exceed --handover-timeout \(3000 ms\) by at least 2 s/ },
    { name: 'a handover longer than the grace period', set: ['agent.config.handover-timeout=9s'], says: /must exceed --handover-timeout \(9000 ms\)/ },
    { name: 'a surge of agents', set: ['agent.updateStrategy.rollingUpdate.maxSurge=1'], says: /maxSurge must be 0/ },
    { name: 'both kinds of monitor', set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.podMonitor.enabled=true'], says: /serviceMonitor or podMonitor, not both/ },
    { name: 'a misspelt PrometheusRule value', set: ['monitoring.prometheusRule.enable=true'], says: /\/monitoring\/prometheusRule': additional properties 'enable' not allowed/ },
    { name: 'a misspelt monitoring kind', set: ['monitoring.prometheusRules.enabled=true'], says: /\/monitoring': additional properties 'prometheusRules' not allowed/ },
    { name: 'a dashboard label that is no string', set: ['monitoring.grafanaDashboard.labels.grafana_dashboard=1'], says: /\/monitoring\/grafanaDashboard\/labels\/grafana_dashboard': got number, want string/ },
    { name: 'a misspelt inspect RBAC value', set: ['inspect.rbac.enable=true'], says: /\/inspect\/rbac': additional properties 'enable' not allowed/ },
  ];
  for (const c of refused) {
    test(`the values are refused with a message naming the problem: ${c.name}`, async () => {
      const r = await runHelm(['template', 'herald', chartDir, ...c.set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.code, 0, `${c.set.join(' ')} was accepted`);
      assert.match(r.stderr, c.says);
    });
  }

  test('the agents\' admission policy is on by default, for the release namespace\'s ServiceAccount, and a value turns it off', async () => {
    const kinds = (o: K8sObject[]): string[] => o.filter((x) => x.kind.startsWith('ValidatingAdmissionPolicy')).map(ref).sort();
    const on = objects(await helmOk(['template', 'herald', chartDir, '--namespace', 'lb-system']));
    assert.equal(kinds(on).length, 6);
    const leases = on.find((o) => ref(o) === 'ValidatingAdmissionPolicy/herald-agent-leases') as K8sObject & { spec: { matchConditions: { expression: string }[] } };
    assert.equal(leases.spec.matchConditions[0]?.expression, "request.userInfo.username == 'system:serviceaccount:lb-system:herald-agent'");
    const off = objects(await helmOk(['template', 'herald', chartDir, '--set', 'agent.admissionPolicy.enabled=false']));
    assert.deepEqual(kinds(off), []);
    assert.ok(off.some((o) => ref(o) === 'DaemonSet/herald-agent'), 'the agent itself stays');
  });

  test('flags given as strings (helm --set-string) are taken as herald reads them', async () => {
    const set = ['agent.config.external-ips-must-be-in-pool=false', 'agent.config.burst-rounds=4', 'agent.config.hello-interval=100',
      'operator.config.write-concurrency=8', 'operator.config.health-port=9000'];
    const all = objects(await helmOk(['template', 'herald', chartDir, ...set.flatMap((s) => ['--set-string', s])]));
    const argsOf = (kind: string): string[] =>
      (all.find((o) => o.kind === kind) as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0]!.args;
    const agent = parseSettings(agentSettings, argsOf('DaemonSet').slice(1), {});
    assert.deepEqual([agent['external-ips-must-be-in-pool'], agent['burst-rounds'], agent['hello-interval']], [false, 4, 100]);
    const operator = parseSettings(operatorSettings, argsOf('Deployment').slice(1), {});
    assert.deepEqual([operator['write-concurrency'], operator['health-port']], [8, 9000]);
    for (const bad of ['agent.config.burst-rounds=0', 'agent.config.external-ips-must-be-in-pool=maybe']) {
      const r = await runHelm(['template', 'herald', chartDir, '--set-string', bad]);
      assert.notEqual(r.code, 0, `${bad} was accepted`);
      assert.match(r.stderr, /does not match pattern/);
    }
  });

  test('the PrometheusRule, the dashboard ConfigMap and the inspect ClusterRoles are off by default', async () => {
    const all = objects(await helmOk(['template', 'herald', chartDir]));
    assert.deepEqual(all.filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ConfigMap' || o.metadata.name.startsWith('herald-inspect')).map(ref), []);
  });

  test('the PrometheusRule holds the groups of deploy/monitoring/prometheus-rules.yaml, templates untouched', async () => {
    const all = objects(await helmOk(['template', 'herald', chartDir, '--namespace', 'monitoring',
      '--set', 'monitoring.prometheusRule.enabled=true', '--set', 'monitoring.prometheusRule.labels.release=prometheus']));
    const rules = all.filter((o) => o.kind === 'PrometheusRule') as (K8sObject & { metadata: { labels: Record<string, string> }; spec: { groups: unknown } })[];
    assert.equal(rules.length, 1);
    const rule = rules[0]!;
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.metadata.namespace, 'monitoring');
    assert.equal(rule.metadata.labels.release, 'prometheus');
    assert.equal(rule.metadata.labels['app.kubernetes.io/name'], 'herald');
    const file = parse(readFileSync(`${repoRoot}deploy/monitoring/prometheus-rules.yaml`, 'utf8')) as { groups: unknown };
    assert.deepEqual(rule.spec.groups, file.groups);
    // What helm would have templated, had it read the file as a template.
    const text = JSON.stringify(rule.spec.groups);
    for (const kept of ['{{ $labels.pool }}', '{{ $value | humanizePercentage }}', '{{ $labels.instance }}']) assert.ok(text.includes(kept), `${kept} reaches Prometheus`);
  });

  test('the dashboard ConfigMap holds deploy/monitoring/grafana-dashboard.json for Grafana\'s sidecar', async () => {
    const dashboard = readFileSync(`${repoRoot}deploy/monitoring/grafana-dashboard.json`, 'utf8');
    type ConfigMap = K8sObject & { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; data: Record<string, string> };
    const render = async (set: string[]): Promise<ConfigMap> => {
      const all = objects(await helmOk(['template', 'herald', chartDir, '--namespace', 'kube-system',
        '--set', 'monitoring.grafanaDashboard.enabled=true', ...set.flatMap((x) => ['--set', x])]));
      const maps = all.filter((o) => o.kind === 'ConfigMap') as ConfigMap[];
      assert.equal(maps.length, 1);
      return maps[0]!;
    };
    const plain = await render([]);
    assert.equal(plain.metadata.name, 'herald-grafana-dashboard');
    assert.equal(plain.metadata.namespace, 'kube-system');
    assert.equal(plain.metadata.labels.grafana_dashboard, '1');
    assert.equal(plain.metadata.annotations, undefined);
    assert.deepEqual(Object.keys(plain.data), ['herald.json']);
    assert.equal(plain.data['herald.json'], dashboard);
    // The sidecar provisions the JSON as it is, with no import dialog to fill
    // in __inputs: ${DS_PROMETHEUS} must name a variable of the dashboard.
    const parsed = JSON.parse(dashboard) as { templating: { list: { name: string; type: string; query: string }[] } };
    assert.ok(dashboard.includes('${DS_PROMETHEUS}'));
    assert.ok(parsed.templating.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource' && v.query === 'prometheus'),
      'a DS_PROMETHEUS data source variable');
    const placed = await render(['monitoring.grafanaDashboard.namespace=grafana', 'monitoring.grafanaDashboard.annotations.grafana_folder=herald',
      'monitoring.grafanaDashboard.labels.example\\.com/team=network']);
    assert.equal(placed.metadata.namespace, 'grafana');
    assert.deepEqual(placed.metadata.annotations, { grafana_folder: 'herald' });
    assert.equal(placed.metadata.labels.grafana_dashboard, '1');
    assert.equal(placed.metadata.labels['example.com/team'], 'network');
    assert.equal(placed.data['herald.json'], dashboard);
  });

  test('inspect.rbac renders the ClusterRoles of examples/rbac/herald-inspect.yaml, nodes/proxy apart', async () => {
    type Role = K8sObject & { rules: unknown };
    const example = parseAllDocuments(readFileSync(`${repoRoot}examples/rbac/herald-inspect.yaml`, 'utf8')).map((d) => d.toJS() as Role);
    const rendered = async (set: string[]): Promise<Role[]> =>
      objects(await helmOk(['template', 'herald', chartDir, '--set', 'inspect.rbac.enabled=true', ...set.flatMap((x) => ['--set', x])]))
        .filter((o) => o.metadata.name.startsWith('herald-inspect')) as Role[];
    const all = await rendered([]);
    assert.deepEqual(all.map(ref), example.map(ref));
    for (const role of example) assert.deepEqual(all.find((r) => ref(r) === ref(role))?.rules, role.rules, ref(role));
    assert.ok(all.every((r) => r.kind === 'ClusterRole'), 'nothing is bound');
    const withoutProxy = await rendered(['inspect.rbac.agentsProxy=false']);
    assert.deepEqual(withoutProxy.map(ref), ['ClusterRole/herald-inspect', 'ClusterRole/herald-inspect-leases']);
  });

  test(`deploy/manifests is what the chart renders (else: ${renderCommand})`, async () => {
    for (const [file, text] of await renderManifests(helm)) {
      assert.equal(readFileSync(manifestsDir + file, 'utf8'), text, `deploy/manifests/${file} is stale: run ${renderCommand}`);
    }
  });

  test('herald takes the arguments the chart renders for every flag it may set', async () => {
    const all = objects(await helmOk(['template', 'herald', chartDir, '--namespace', 'kube-system', '-f', allOn]));
    const argsOf = (kind: string): string[] => {
      const o = all.find((x) => x.kind === kind) as { spec: { template: { spec: { containers: { args: string[] }[] } } } } | undefined;
      const args = o?.spec.template.spec.containers[0]?.args;
      assert.ok(args, `${kind} has args`);
      return args;
    };
    const values = parse(readFileSync(allOn, 'utf8')) as Record<'agent' | 'operator', { config: Record<string, unknown> }>;
    for (const [kind, command, defs] of [['DaemonSet', 'agent', agentSettings], ['Deployment', 'operator', operatorSettings]] as const) {
      const [sub, ...flags] = argsOf(kind);
      assert.equal(sub, command);
      const settable = Object.keys(defs as SettingDefs).filter((f) => !(f in chartOwnedFlags[command]));
      assert.deepEqual(Object.keys(values[command].config).sort(), settable.sort(), `${allOn} sets every ${command} flag`);
      for (const flag of settable) assert.ok(flags.some((a) => a.startsWith(`--${flag}=`)), `--${flag} is rendered`);
      assert.doesNotThrow(() => parseSettings(defs as SettingDefs, flags, {}), `herald ${command} ${flags.join(' ')}`);
    }
  });
});

// Stand-ins for the Prometheus Operator's CRDs (monitoring.coreos.com/v1),
// typed for the fields the chart writes, so that the apiserver's strict field
// validation checks their names and kinds. They are not the real CRDs.
function monitorCrd(kind: 'ServiceMonitor' | 'PodMonitor', endpoints: 'endpoints' | 'podMetricsEndpoints'): string {
  const plural = `${kind.toLowerCase()}s`;
  const duration = { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' };
  const relabelings = { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
  const labelSelector = {
    type: 'object',
    properties: {
      matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
      matchExpressions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  };
  return stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: {
          type: 'object',
          required: ['spec'],
          properties: {
            spec: {
              type: 'object',
              required: ['selector'],
              properties: {
                jobLabel: { type: 'string' },
                namespaceSelector: { type: 'object', properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } } },
                selector: labelSelector,
                [endpoints]: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      port: { type: 'string' }, path: { type: 'string' }, interval: duration, scrapeTimeout: duration,
                      relabelings, metricRelabelings: relabelings,
                    },
                  },
                },
              },
            },
          },
        } },
      }],
    },
  });
}

// A stand-in for the Prometheus Operator's PrometheusRule CRD, typed for the
// fields of deploy/monitoring/prometheus-rules.yaml (expr as the real CRD
// has it: int-or-string). Not the real CRD.
function prometheusRuleCrd(): string {
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  return stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'prometheusrules.monitoring.coreos.com' },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind: 'PrometheusRule', listKind: 'PrometheusRuleList', plural: 'prometheusrules', singular: 'prometheusrule' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: {
          type: 'object',
          required: ['spec'],
          properties: {
            spec: {
              type: 'object',
              properties: {
                groups: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['name'],
                    properties: {
                      name: { type: 'string', minLength: 1 },
                      interval: { type: 'string' },
                      rules: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['expr'],
                          properties: {
                            alert: { type: 'string' }, record: { type: 'string' },
                            expr: { 'x-kubernetes-int-or-string': true },
                            for: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                            labels: stringMap, annotations: stringMap,
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        } },
      }],
    },
  });
}

describe('on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let operator: HeraldProcess | undefined;
  let manifest: K8sObject[] = [];
  const kubeconfigArgs = (): string[] => ['--kubeconfig', cp.kubeconfigPath, '--namespace', 'kube-system'];

  before(async () => {
    cp = await ControlPlane.start();
  });

  after(async () => {
    await operator?.proc.stop();
    await cp.stop();
  });

  const exists = async (o: K8sObject): Promise<boolean> =>
    (await cp.kubectl(['get', ref(o), '-n', o.metadata.namespace ?? 'default', '--ignore-not-found', '-o', 'name'])).trim() !== '';

  test('every object the chart renders is accepted by the apiserver (server-side dry run)', async () => {
    for (const crd of [monitorCrd('ServiceMonitor', 'endpoints'), monitorCrd('PodMonitor', 'podMetricsEndpoints'), prometheusRuleCrd()]) await apply(cp, crd);
    await waitForCrds(cp, ['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']);
    // Leases elsewhere: the Roles follow them there.
    await cp.kubectl(['create', 'namespace', 'herald-leases']);
    for (const values of [[], ['-f', allOn], ['-f', podMonitors], ['--set', 'agent.config.namespace=herald-leases']]) {
      const rendered = await helmOk(['template', 'herald', chartDir, '--namespace', 'kube-system', '--include-crds', ...values]);
      const all = objects(rendered);
      assert.deepEqual(all.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name).sort(), [...heraldCrds].sort());
      const out = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
      for (const o of all) assert.match(out, new RegExp(`${o.metadata.name} created \\(server dry run\\)`), `${ref(o)} (${values.join(' ')})`);
      const kinds = new Set(all.map((o) => o.kind));
      if (values[1] === allOn) {
        for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap']) assert.ok(kinds.has(kind), `${kind} rendered`);
        assert.ok(all.some((o) => ref(o) === 'ClusterRole/herald-inspect-agents'), 'the inspect ClusterRoles rendered');
      }
      if (values[1] === podMonitors) assert.ok(kinds.has('PodMonitor'), 'PodMonitors rendered');
    }
    // Nothing was created.
    assert.equal((await cp.kubectl(['get', 'daemonsets,deployments,servicemonitors,podmonitors,prometheusrules', '-A', '-o', 'name'])).trim(), '');
    for (const crd of heraldCrds) assert.equal((await cp.kubectl(['get', 'crd', crd, '--ignore-not-found', '-o', 'name'])).trim(), '');
  });

  test('helm install creates every object and leaves a CRD that already exists alone', async () => {
    // The pool CRD as Cilium's operator leaves it: labelled with its schema
    // version. helm installs crds/ only where they do not exist yet.
    const pool = parse(readFileSync(`${crdDirectory}/ciliumloadbalancerippools.yaml`, 'utf8')) as { metadata: { labels: Record<string, string> } };
    pool.metadata.labels = { 'io.cilium.k8s.crd.schema.version': '1.32.0' };
    await apply(cp, stringify(pool));
    // Established is written after creation: read the CRD once it settled.
    await waitForCrds(cp, [heraldCrds[0]]);
    const before = JSON.parse(await cp.kubectl(['get', 'crd', heraldCrds[0], '-o', 'json'])) as { metadata: { resourceVersion: string } };

    const out = await helmOk(['install', 'herald', chartDir, ...kubeconfigArgs()]);
    assert.match(out, /STATUS: deployed/);
    assert.match(out, /kubectl get ciliumloadbalancerippool/, 'NOTES tell how to check herald');

    const after = JSON.parse(await cp.kubectl(['get', 'crd', heraldCrds[0], '-o', 'json'])) as {
      metadata: { resourceVersion: string; labels: Record<string, string> };
    };
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'the existing CRD was not changed');
    assert.deepEqual(after.metadata.labels, { 'io.cilium.k8s.crd.schema.version': '1.32.0' });
    await waitForCrds(cp, [heraldCrds[1]]);
    const policyCrd = JSON.parse(await cp.kubectl(['get', 'crd', heraldCrds[1], '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
    assert.equal(policyCrd.metadata.labels['app.kubernetes.io/part-of'], 'herald', 'the missing CRD came from the chart');

    manifest = objects(await helmOk(['get', 'manifest', 'herald', ...kubeconfigArgs()]));
    assert.deepEqual(manifest.map(ref).sort(), [
      'ClusterRole/herald-agent', 'ClusterRole/herald-operator',
      'ClusterRoleBinding/herald-agent', 'ClusterRoleBinding/herald-operator',
      'DaemonSet/herald-agent', 'Deployment/herald-operator', 'PodDisruptionBudget/herald-operator',
      'Role/herald-agent-leases', 'Role/herald-operator-leader-election',
      'RoleBinding/herald-agent-leases', 'RoleBinding/herald-operator-leader-election',
      'Service/herald-agent-metrics', 'Service/herald-operator-metrics',
      'ServiceAccount/herald-agent', 'ServiceAccount/herald-operator',
      'ValidatingAdmissionPolicy/herald-agent-lease-takeover', 'ValidatingAdmissionPolicy/herald-agent-leases', 'ValidatingAdmissionPolicy/herald-agent-policy-status',
      'ValidatingAdmissionPolicyBinding/herald-agent-lease-takeover', 'ValidatingAdmissionPolicyBinding/herald-agent-leases',
      'ValidatingAdmissionPolicyBinding/herald-agent-policy-status',
    ]);
    for (const o of manifest) assert.ok(await exists(o), `${ref(o)} exists`);
  });

  const services = ['web', 'api', 'pinned'];
  let addresses = new Map<string, unknown>();

  const statusOf = async (name: string): Promise<unknown> => (await getService(cp, name)).status?.loadBalancer;
  const addressed = (name: string): Promise<unknown> => waitFor(`${name} to get an address`, async () => {
    const lb = await getService(cp, name);
    return (lb.status?.loadBalancer?.ingress ?? []).length > 0 ? lb.status?.loadBalancer : undefined;
  });

  /** `herald operator` from dist/, as the chart's ServiceAccount: exactly the rights the chart grants. */
  const runOperator = async (name: string): Promise<HeraldProcess> => {
    const kubeconfig = await cp.kubeconfigFor('system:serviceaccount:kube-system:herald-operator',
      ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated']);
    return startOperator(cp, kubeconfig, name);
  };

  test('with the chart\'s RBAC, herald operator gives LoadBalancer Services addresses', async () => {
    await apply(cp, poolManifest('lan', { blocks: [{ start: '192.0.2.240', stop: '192.0.2.250' }] }));
    await apply(cp, serviceManifest('web'));
    await apply(cp, serviceManifest('api', { loadBalancerClass: 'io.cilium/l2-announcer' }));
    await apply(cp, serviceManifest('pinned', { annotations: { 'lbipam.cilium.io/ips': '192.0.2.250' } }));
    operator = await runOperator('herald-operator-a');
    for (const name of services) addresses.set(name, await addressed(name));
    assert.deepEqual(addresses.get('pinned'), { ingress: [{ ip: '192.0.2.250', ipMode: 'VIP' }] });
    addresses = new Map(await Promise.all(services.map(async (n) => [n, await statusOf(n)] as const)));
  });

  test('helm uninstall removes every chart object; the CRDs, pools and addresses stay', async () => {
    // The Deployment's pods would stop with it.
    await operator?.proc.stop();
    operator = undefined;
    const out = await helmOk(['uninstall', 'herald', ...kubeconfigArgs()]);
    assert.match(out, /release "herald" uninstalled/);
    for (const o of manifest) assert.equal(await exists(o), false, `${ref(o)} is gone`);
    for (const crd of heraldCrds) await cp.kubectl(['get', 'crd', crd]);
    await cp.kubectl(['get', 'ciliumloadbalancerippool', 'lan']);
    for (const name of services) assert.deepEqual(await statusOf(name), addresses.get(name), `${name} keeps its address`);
  });

  test('a reinstall and a new operator keep every address', async () => {
    await helmOk(['install', 'herald', chartDir, ...kubeconfigArgs()]);
    for (const o of manifest) assert.ok(await exists(o), `${ref(o)} exists again`);
    operator = await runOperator('herald-operator-b');
    // A Service created now is served only once the operator has read every
    // existing allocation, so its address proves the others were seen.
    await apply(cp, serviceManifest('late'));
    const late = await addressed('late') as { ingress: { ip: string }[] };
    for (const name of services) {
      assert.deepEqual(await statusOf(name), addresses.get(name), `${name} keeps its address`);
      assert.notDeepEqual(late.ingress, (addresses.get(name) as { ingress: unknown }).ingress);
    }
  });
});
