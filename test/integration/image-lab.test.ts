/**
 * herald from its container image (issue 10): scripts/build-image.sh builds
 * it (cached), and the lab runs the operator and three agents as the pods of
 * the rendered manifests with podman: the chart's args, env and security
 * context, ServiceAccount tokens and RBAC, each agent in its node's network
 * namespace (harness/pod-runner.ts). Seed 001 then runs as in
 * ./scripts/lab.sh, and the containers are checked for what the security
 * model promises (docs/image.md).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { serviceIps, serviceLeaseHolder } from '../../harness/kube-objects.js';
import { L2Lab } from '../../harness/l2-lab.js';
import { repoRoot, seedDirectory } from '../../harness/paths.js';
import { runImageOnce, type RunningPod } from '../../harness/pod-runner.js';
import { waitFor } from '../../harness/wait.js';
import { seed001Pool } from '../../harness/seeds.js';

const run = promisify(execFile);
const NODES = ['node-a', 'node-b', 'node-c'];
const SERVICES = ['app1-service', 'app2-service'];
/** CAP_NET_RAW is bit 13. */
const NET_RAW = 0x2000n;
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

let image = '';
let lab: L2Lab | undefined;

before(async () => {
  const { stdout } = await run(join(repoRoot, 'scripts/build-image.sh'), [], { cwd: repoRoot, timeout: 20 * 60_000, maxBuffer: 64 << 20 });
  image = /^image=(.+)$/m.exec(stdout)?.[1] ?? '';
  assert.equal(image, `ghcr.io/herald-lb/herald:${version}`);
  lab = await L2Lab.start({ nodes: 3, fromImage: true });
  for (const n of NODES) await lab.startAgentPod(n);
});

after(async () => {
  await lab?.stop();
});

function theLab(): L2Lab {
  if (!lab) throw new Error('the lab did not start');
  return lab;
}

function capabilities(status: Record<string, string>, set: 'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb'): bigint {
  const hex = status[set];
  if (hex === undefined) throw new Error(`no ${set} in /proc/<pid>/status`);
  return BigInt(`0x${hex}`);
}

/** What a write to `path` inside the container fails with ('' if it succeeds). */
async function writeError(pod: RunningPod, path: string): Promise<string> {
  return (await pod.exec(['node', '-e', `try { require('node:fs').writeFileSync(${JSON.stringify(path)}, 'x'); } catch (e) { process.stdout.write(e.code); }`])).trim();
}

describe('the image', () => {
  test('`herald version` prints the version, the commit and the Node.js version', async () => {
    const out = (await runImageOnce(image, ['version'])).trim();
    assert.match(out, new RegExp(`^herald ${version.replaceAll('.', '\\.')} \\(commit ([0-9a-f]{12}(-dirty)?|unknown), node v(\\d+)\\.\\d+\\.\\d+\\)$`));
    assert.ok(Number(/node v(\d+)/.exec(out)?.[1]) >= 20, out);
  });

  test('holds Node.js, ip and herald, and no compiler, npm, package manager or set-user-ID program', async () => {
    const root = (await run('podman', ['image', 'mount', image])).stdout.trim();
    try {
      const exists = async (path: string): Promise<boolean> => (await run('test', ['-e', join(root, path)]).then(() => true, () => false));
      for (const present of ['usr/bin/node', 'usr/bin/ip', 'app/dist/src/cli/main.js', 'app/native/build/Release/herald_packet.node', 'app/dist/build-info.json']) {
        assert.ok(await exists(present), `${present} is in the image`);
      }
      const absent = ['npm', 'npx', 'corepack', 'yarn', 'dpkg', 'apt', 'apt-get', 'gcc', 'cc', 'g++', 'c++', 'clang', 'make', 'python3', 'perl']
        .flatMap((cmd) => ['usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/local/sbin'].map((dir) => `${dir}/${cmd}`));
      for (const path of [...absent, 'usr/lib/node_modules/npm', 'usr/share/nodejs/npm', 'usr/share/nodejs/corepack', 'app/node_modules/typescript']) {
        assert.ok(!(await exists(path)), `${path} is not in the image`);
      }
      const setuid = (await run('find', [root, '-xdev', '-type', 'f', '-perm', '/6000'])).stdout.trim();
      assert.equal(setuid, '', 'no set-user-ID or set-group-ID files');
    } finally {
      await run('podman', ['image', 'unmount', image]);
    }
    const { stdout } = await run('podman', ['image', 'inspect', '--format', '{{.Config.User}} {{.Size}}', image]);
    const [user, size] = stdout.trim().split(' ');
    assert.equal(user, '65532:65532', 'not root by default');
    console.log(`# image ${image}: ${(Number(size) / 1e6).toFixed(0)} MB`);
  });
});

describe('seed 001, with the operator and the agents running from the image', () => {
  const vips = new Map<string, string>();

  test('the Services get addresses from the pool and each is announced by the node holding its Lease', async () => {
    const l = theLab();
    const pool = seed001Pool();
    assert.match(pool, /192\.0\.2\.240/);
    await l.cp.kubectl(['apply', '-f', '-'], pool);
    for (const file of ['001-l2announce.yaml', '001-apps-and-svcs.yaml', '003-rendered.yaml', '004-layer2-policy.yaml']) {
      await l.cp.kubectl(['apply', '-f', `${seedDirectory}/${file}`]);
    }
    for (const svc of SERVICES) {
      const vip = await waitFor(`${svc} to get an address`, async () => (await serviceIps(l.cp, svc))[0], 30_000);
      assert.match(vip, /^192\.0\.2\.(24\d|250)$/);
      vips.set(svc, vip);
      const holder = await waitFor(`a node to hold the Lease of ${svc}`, async () =>
        (await serviceLeaseHolder(l.cp, svc)) || undefined, 30_000);
      assert.ok(NODES.includes(holder), `${svc} is held by ${holder}`);
      const answeredBy = await waitFor(`curl ${vip}`, async () => l.curl(vip).catch(() => undefined), 15_000, 200);
      assert.equal(answeredBy, holder, `${vip} is answered by the Lease holder`);
      assert.equal(await l.neighMac(vip), l.macOf(holder), `the client's ARP entry for ${vip} is the holder's MAC`);
    }
    assert.notEqual(vips.get('app1-service'), vips.get('app2-service'));
  });

  test('the operator leads under its pod name, from the env the Deployment renders', async () => {
    const l = theLab();
    const holder = await l.cp.kubectl(['get', 'lease', '-n', 'kube-system', 'herald-operator', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(holder, l.operatorPod?.podName);
  });
});

describe('the containers run as the security model says (docs/image.md)', () => {
  test('each agent: uid 0, CAP_NET_RAW and nothing else in any set, no privilege escalation, read-only root', async () => {
    const l = theLab();
    for (const n of NODES) {
      const pod = l.agentPod(n);
      assert.ok(pod, `an agent pod runs on ${n}`);
      const status = await pod.processStatus();
      assert.equal(status.Uid?.split(/\s+/)[0], '0', `${n}: the agent runs as uid 0`);
      for (const set of ['CapPrm', 'CapEff', 'CapBnd'] as const) assert.equal(capabilities(status, set), NET_RAW, `${n}: ${set} is CAP_NET_RAW only`);
      for (const set of ['CapInh', 'CapAmb'] as const) assert.equal(capabilities(status, set), 0n, `${n}: ${set} is empty`);
      assert.equal(status.NoNewPrivs, '1', `${n}: no_new_privs`);
      // Inside the container, with its own user and capabilities: the root and /tmp are read-only.
      assert.equal(await writeError(pod, '/app/probe'), 'EROFS');
      assert.equal(await writeError(pod, '/tmp/probe'), 'EROFS');
      assert.match(await pod.exec(['node', '-e', 'process.stdout.write(require("node:fs").readFileSync("/proc/1/status", "utf8"))']), /^CapEff:\s+0000000000002000$/m);
    }
  });

  test('the operator: not root, no capabilities at all, no privilege escalation, read-only root', async () => {
    const pod = theLab().operatorPod;
    assert.ok(pod, 'the operator pod runs');
    const status = await pod.processStatus();
    assert.equal(status.Uid?.split(/\s+/)[0], '65532');
    assert.equal(status.Gid?.split(/\s+/)[0], '65532');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'] as const) assert.equal(capabilities(status, set), 0n, `${set} is empty`);
    assert.equal(status.NoNewPrivs, '1');
    assert.equal(await writeError(pod, '/app/probe'), 'EROFS');
    assert.equal(await writeError(pod, '/tmp/probe'), 'EROFS');
  });
});
