/** From a pod template to `podman run` arguments, as a kubelet would run it (harness/pod-runner.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuCores, expandVars, findWorkload, memoryBytes, PodSpecError, planPod, renderedManifests, type PodContext } from '../../../harness/pod-runner.js';

const ctx: PodContext = {
  podName: 'herald-agent-node-a', namespace: 'kube-system', nodeName: 'node-a', netns: 'hrl-1-0-node-a',
  imageUser: '65532:65532', serviceAccountDir: '/tmp/sa', apiHost: '127.0.0.1', apiPort: 6443,
  containerName: 'c1', labels: { owner: '1' },
};

/** The agent's pod as deploy/manifests renders it, with `change` applied to its container. */
function agentTemplate(change: (c: Record<string, unknown>, spec: Record<string, unknown>) => void = () => undefined): unknown {
  const container: Record<string, unknown> = {
    name: 'agent', image: 'ghcr.io/herald-lb/herald:0.1.0', args: ['agent', '--log=$(NODE_NAME)', '$$(NODE_NAME)'],
    env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    ports: [{ name: 'health', containerPort: 9964 }],
    livenessProbe: { httpGet: { path: '/livez', port: 'health' } },
    readinessProbe: { httpGet: { path: '/readyz', port: 'health' } },
    resources: { requests: { cpu: '20m', memory: '96Mi' }, limits: { memory: '512Mi' } },
    securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } },
  };
  const spec: Record<string, unknown> = {
    serviceAccountName: 'herald-agent', hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', terminationGracePeriodSeconds: 10,
    tolerations: [{ operator: 'Exists' }], containers: [container],
  };
  change(container, spec);
  return { metadata: { labels: { app: 'x' } }, spec };
}

/** The value after `flag`, for each time it occurs. */
function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

describe('planPod', () => {
  test('the agent: its node\'s network, uid 0, CAP_NET_RAW only, no escalation, read-only root without tmpfs', () => {
    const plan = planPod(agentTemplate(), ctx);
    const a = plan.args;
    assert.deepEqual(values(a, '--network'), ['ns:/run/netns/hrl-1-0-node-a']);
    assert.deepEqual(values(a, '--hostname'), ['node-a']);
    assert.deepEqual(values(a, '--user'), ['0']);
    assert.equal(plan.uid, 0);
    assert.deepEqual(values(a, '--cap-drop'), ['ALL']);
    assert.deepEqual(values(a, '--cap-add'), ['NET_RAW']);
    assert.deepEqual(values(a, '--security-opt'), ['no-new-privileges', 'seccomp=unconfined']);
    assert.ok(a.includes('--read-only') && a.includes('--read-only-tmpfs=false'));
    assert.deepEqual(values(a, '--memory'), [String(512 * 2 ** 20)]);
    assert.deepEqual(values(a, '--volume'), ['/tmp/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro']);
    assert.deepEqual(values(a, '--env'), [
      'KUBERNETES_SERVICE_HOST=127.0.0.1', 'KUBERNETES_SERVICE_PORT=6443', 'KUBERNETES_SERVICE_PORT_HTTPS=6443', 'NODE_NAME=node-a']);
    assert.deepEqual(values(a, '--label'), ['owner=1']);
    // The image, then the args with $(VAR) expanded and $$ escaped.
    assert.deepEqual(a.slice(-4), ['ghcr.io/herald-lb/herald:0.1.0', 'agent', '--log=node-a', '$(NODE_NAME)']);
    assert.deepEqual(plan.readiness, { path: '/readyz', port: 9964 });
    assert.equal(plan.terminationGraceSeconds, 10);
    assert.equal(plan.serviceAccountName, 'herald-agent');
  });

  test('a pod of its own: its namespace and host name, the image\'s user, fieldRefs for name and namespace', () => {
    const plan = planPod(agentTemplate((c, spec) => {
      delete spec.hostNetwork;
      c.env = [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } }, { name: 'X', value: 'in $(NS)' }];
      c.securityContext = { runAsNonRoot: true, capabilities: { drop: ['ALL'] } };
      c.command = ['node', 'main.js'];
    }), { ...ctx, podName: 'herald-operator-0', netns: 'hrl-1-0-op' });
    assert.deepEqual(values(plan.args, '--hostname'), ['herald-operator-0']);
    assert.deepEqual(values(plan.args, '--user'), [], 'the image decides');
    assert.equal(plan.uid, 65532);
    assert.deepEqual(values(plan.args, '--cap-add'), []);
    assert.ok(values(plan.args, '--env').includes('POD_NAME=herald-operator-0'));
    assert.ok(values(plan.args, '--env').includes('NS=kube-system'));
    assert.ok(values(plan.args, '--env').includes('X=in kube-system'));
    assert.deepEqual(values(plan.args, '--entrypoint'), ['["node","main.js"]']);
    assert.ok(!plan.args.includes('--read-only'));
  });

  for (const [what, change, message] of [
    ['a capability for a non-root user (no ambient capabilities under Kubernetes)',
      (c: Record<string, unknown>) => { c.securityContext = { capabilities: { drop: ['ALL'], add: ['NET_RAW'] } }; }, /uid 65532 .*no ambient capabilities/],
    ['runAsNonRoot with uid 0', (c: Record<string, unknown>) => { c.securityContext = { runAsNonRoot: true, runAsUser: 0, capabilities: { drop: ['ALL'] } }; }, /kubelet refuses/],
    ['capabilities without drop ALL', (c: Record<string, unknown>) => { c.securityContext = { runAsUser: 0, capabilities: { add: ['NET_RAW'] } }; }, /drop must include ALL/],
    ['a privileged container', (c: Record<string, unknown>) => { c.securityContext = { privileged: true, capabilities: { drop: ['ALL'] } }; }, /privileged/],
    ['an env var from a Secret', (c: Record<string, unknown>) => { c.env = [{ name: 'T', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]; }, /valueFrom\.secretKeyRef is not emulated/],
    ['a fieldRef the runner does not know', (c: Record<string, unknown>) => { c.env = [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]; }, /status\.podIP is not emulated/],
    ['a volume mount', (c: Record<string, unknown>) => { c.volumeMounts = [{ name: 'v', mountPath: '/v' }]; }, /volumeMounts is not emulated/],
    ['a pod-level field that changes behaviour', (_c: Record<string, unknown>, spec: Record<string, unknown>) => { spec.hostPID = true; }, /spec\.hostPID is not emulated/],
    ['a restart policy other than Always', (_c: Record<string, unknown>, spec: Record<string, unknown>) => { spec.restartPolicy = 'Never'; }, /restartPolicy "Never"/],
    ['a second container', (c: Record<string, unknown>, spec: Record<string, unknown>) => { spec.containers = [c, { ...c, name: 'b' }]; }, /2 containers/],
    ['a probe on an undeclared port', (c: Record<string, unknown>) => { c.readinessProbe = { httpGet: { path: '/', port: 'metrics' } }; }, /port metrics/],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => planPod(agentTemplate(change), ctx), (err: unknown) => err instanceof PodSpecError && message.test(err.message));
    });
  }

  test('an image user by name cannot be checked against runAsNonRoot', () => {
    assert.throws(() => planPod(agentTemplate((c) => { c.securityContext = { capabilities: { drop: ['ALL'] } }; }), { ...ctx, imageUser: 'nobody' }),
      /not numeric/);
  });
});

test('quantities and $(VAR) expansion', () => {
  assert.equal(memoryBytes('512Mi'), 536_870_912);
  assert.equal(memoryBytes('1G'), 1e9);
  assert.equal(memoryBytes('1048576'), 1_048_576);
  assert.throws(() => memoryBytes('lots'), PodSpecError);
  assert.equal(cpuCores('500m'), 0.5);
  assert.equal(cpuCores(2), 2);
  const env = new Map([['A', 'x']]);
  assert.equal(expandVars('$(A)-$(B)-$$(A)-$$', env), 'x-$(B)-$(A)-$');
});

test('the rendered manifests: the agent DaemonSet runs as uid 0 with CAP_NET_RAW only, the operator Deployment as the image\'s non-root user with none', () => {
  // docs/image.md: the image's user is 65532, and Kubernetes gives a non-root process no capabilities.
  const objects = renderedManifests();
  const agent = planPod(findWorkload(objects, 'DaemonSet').template, ctx);
  assert.equal(agent.uid, 0);
  assert.equal(agent.hostNetwork, true);
  assert.deepEqual(values(agent.args, '--cap-add'), ['NET_RAW']);
  assert.ok(agent.args.includes('--read-only') && values(agent.args, '--security-opt').includes('no-new-privileges'));
  const operator = planPod(findWorkload(objects, 'Deployment').template, { ...ctx, podName: 'herald-operator-0' });
  assert.equal(operator.uid, 65532);
  assert.equal(operator.hostNetwork, false);
  assert.deepEqual(values(operator.args, '--cap-add'), []);
  assert.ok(operator.args.includes('--read-only') && values(operator.args, '--security-opt').includes('no-new-privileges'));
  assert.throws(() => findWorkload(objects, 'StatefulSet'), /0 StatefulSets/);
});
