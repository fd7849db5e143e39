/**
 * The responder (real addon, real link inventory) inside node namespaces,
 * driven through setDesired as the agent will drive it, against the client
 * kernel's ARP/NDP stack, curl, arping and ndisc6.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RunnerClient } from '../../harness/runner-client.js';
import type { Node } from '../../harness/testbed.js';
import { Testbed, arpingReplies, ndisc6Replies, waitUntil } from '../../harness/testbed.js';

describe('L2 responder against real peers', () => {
  let bed: Testbed;
  let a: Node;
  let b: Node;
  let bare: Node;
  const runners = new Map<string, RunnerClient>();
  const runner = (n: Node) => runners.get(n.name)!;

  const arping = async (ip: string, count = 2, dev = 'eth0') => {
    const r = await bed.execStatus(bed.client, ['arping', '-c', String(count), '-w', String(count + 1), '-I', dev, ip]);
    return arpingReplies(r.stdout);
  };
  const ndisc6 = async (ip: string, dev = 'eth0') => {
    const r = await bed.execStatus(bed.client, ['ndisc6', '-m', '-n', '-r', '1', '-w', '1000', ip, dev]);
    return ndisc6Replies(r.stdout);
  };
  const curl = async (url: string) => (await bed.exec(bed.client, ['curl', '-sS', '--max-time', '5', url])).stdout.trim();

  before(async () => {
    bed = await Testbed.create({ nodes: [{ name: 'a' }, { name: 'b' }, { name: 'bare', lanAddress: false }] });
    [a, b, bare] = [bed.node('a'), bed.node('b'), bed.node('bare')];
    const services = ['192.0.2.210', '2001:db8::210', '192.0.2.220', '2001:db8::220', '192.0.2.230']
      .map((vip) => ({ vip, port: 80, targetPort: 8080 }));
    for (const n of [a, b, bare]) {
      await bed.serveHttp(n);
      await bed.kubeProxy(n, services);
      runners.set(n.name, await RunnerClient.start(bed, n));
    }
  });

  after(async () => {
    await bed.destroy();
  });

  it('answers on an interface that has no IP address at all', async () => {
    const { stdout } = await bed.exec(bare, ['ip', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
    assert.equal(stdout.trim(), '', 'precondition: eth0 has no global address');
    await runner(bare).set([{ address: '192.0.2.210', interface: 'eth0' }, { address: '2001:db8::210', interface: 'eth0' }]);
    assert.deepEqual(await arping('192.0.2.210'), [bare.mac, bare.mac]);
    assert.deepEqual(await ndisc6('2001:db8::210'), [bare.mac]);
    assert.equal(await curl('http://192.0.2.210/'), 'bare');
    assert.equal(await curl('http://[2001:db8::210]/'), 'bare');
    assert.equal((await bed.neighbour(bed.client, '192.0.2.210'))?.mac, bare.mac);
    await runner(bare).set([]);
  });

  // On `bare`, which no later test uses: a link bounce drops the routes added to a node's eth0.
  it('answers within a second of a one-command link bounce, and re-announces', async (t) => {
    t.after(() => runner(bare).set([]));
    await runner(bare).set([{ address: '192.0.2.230', interface: 'eth0' }, { address: '2001:db8::230', interface: 'eth0' }]);
    // The burst's gratuitous replies may be counted too: every answer must be bare's.
    assert.deepEqual([...new Set(await arping('192.0.2.230', 1))], [bare.mac]);
    const since = runner(bare).events('gratuitous').length;
    const problems = runner(bare).events('problem').length;
    // As a network manager re-applying its configuration does it: too quick for the link inventory to see.
    await bed.exec(bare, ['sh', '-c', 'ip link set eth0 down; ip link set eth0 up']);
    // One request, one second: before the fix no reply came at all, then or 11 s later.
    assert.deepEqual([...new Set(await arping('192.0.2.230', 1))], [bare.mac]);
    assert.deepEqual([...new Set(await ndisc6('2001:db8::230'))], [bare.mac]);
    assert.ok(runner(bare).events('problem').slice(problems).some((e) => e.code === 'ENETDOWN'), 'the error is said');
    await runner(bare).waitForEvent('recovered', (e) => e.interface === 'eth0', 2000);
    await runner(bare).waitForEvent('gratuitous', (e) => e.address === '192.0.2.230' && e.round === 0, 2000, since);
    await runner(bare).waitForEvent('gratuitous', (e) => e.address === '2001:db8::230' && e.round === 0, 2000, since);
    const c = await runner(bare).counters();
    assert.ok(c.socketErrors >= 1 && c.recoveries >= 1, JSON.stringify(c));
  });

  it('stops answering as soon as the address is removed, and resumes when it is back', async () => {
    await runner(a).set([{ address: '192.0.2.230', interface: 'eth0' }, { address: '2001:db8::210', interface: 'eth0' }]);
    assert.deepEqual(await arping('192.0.2.230'), [a.mac, a.mac]);
    const before = await runner(a).counters();
    await runner(a).set([{ address: '2001:db8::210', interface: 'eth0' }]);
    assert.deepEqual(await arping('192.0.2.230', 3), []);
    assert.deepEqual(await ndisc6('2001:db8::210'), [a.mac], 'the remaining address is still answered');
    await runner(a).set([]);
    assert.deepEqual(await ndisc6('2001:db8::210'), []);
    const afterRemoval = await runner(a).counters();
    assert.equal(afterRemoval.repliesSent, before.repliesSent + 1, 'only the one ndisc6 answer in between');
    await runner(a).set([{ address: '192.0.2.230', interface: 'eth0' }]);
    assert.deepEqual(await arping('192.0.2.230'), [a.mac, a.mac]);
    await runner(a).set([]);
  });

  it('moves an address from node a to node b: the client follows within a second and curl keeps working', async (t) => {
    const vip4 = '192.0.2.220';
    const vip6 = '2001:db8::220';
    const pairs = [{ address: vip4, interface: 'eth0' }, { address: vip6, interface: 'eth0' }];
    await runner(a).set(pairs);
    assert.equal(await curl(`http://${vip4}/`), 'a');
    assert.equal(await curl(`http://[${vip6}]/`), 'a');
    assert.equal((await bed.neighbour(bed.client, vip4))?.mac, a.mac);
    assert.equal((await bed.neighbour(bed.client, vip6))?.mac, a.mac);

    // Keep requests flowing across the move; every one must succeed.
    const loop = bed.spawn(bed.client, ['sh', '-c',
      `for i in $(seq 1 30); do curl -sS --max-time 2 http://${vip4}/ || echo FAIL; curl -sS --max-time 2 -g http://[${vip6}]/ || echo FAIL; sleep 0.05; done; echo DONE`]);
    await loop.waitFor(/^a$/);
    await runner(a).set([]);
    await runner(b).set(pairs);
    const moved = Date.now();
    const v4 = await waitUntil('client ARP entry to show b', async () =>
      (await bed.neighbour(bed.client, vip4))?.mac === b.mac ? true : undefined, 3000);
    const v6 = await waitUntil('client NDP entry to show b', async () =>
      (await bed.neighbour(bed.client, vip6))?.mac === b.mac ? true : undefined, 3000);
    const elapsed = Date.now() - moved;
    t.diagnostic(`client caches showed b after ${v4.elapsedMs.toFixed(0)} ms (IPv4) and ${v6.elapsedMs.toFixed(0)} ms (IPv6)`);
    assert.ok(v4.elapsedMs < 1000 && v6.elapsedMs < 1000 && elapsed < 1500, `neighbour caches flipped after ${v4.elapsedMs.toFixed(0)} / ${v6.elapsedMs.toFixed(0)} ms`);
    await loop.waitFor(/^DONE$/, 20_000);
    const answers = loop.lines.filter((l) => l !== 'DONE');
    assert.equal(answers.filter((l) => l === 'FAIL').length, 0, `failed requests: ${loop.stderr}`);
    assert.equal(answers.length, 60);
    assert.equal(answers.at(-1), 'b', 'traffic ends up on b');
    assert.equal(await curl(`http://${vip4}/`), 'b');
    assert.equal(await curl(`http://[${vip6}]/`), 'b');
    assert.deepEqual(await arping(vip4), [b.mac, b.mac]);
    await runner(b).set([]);
  });

  it('tells the holder when another MAC announces its address', async () => {
    await runner(a).set([{ address: '192.0.2.230', interface: 'eth0' }, { address: '2001:db8::210', interface: 'eth0' }]);
    await runner(b).set([{ address: '192.0.2.230', interface: 'eth0' }, { address: '2001:db8::210', interface: 'eth0' }]);
    await runner(a).waitForEvent('conflict', (e) => e.address === '192.0.2.230' && e.mac === b.mac, 2000);
    await runner(a).waitForEvent('conflict', (e) => e.address === '2001:db8::210' && e.mac === b.mac, 2000);
    await runner(a).set([]);
    await runner(b).set([]);
  });

  it('withdraws when the link goes down and announces again when it comes back', async () => {
    const r = runner(a);
    await r.set([{ address: '192.0.2.230', interface: 'eth0' }]);
    assert.deepEqual(await arping('192.0.2.230'), [a.mac, a.mac]);
    const downAt = Date.now();
    await bed.exec(a, ['ip', 'link', 'set', 'eth0', 'down']);
    const down = await r.waitForEvent('state', (e) => e.state === 'down', 3000, r.events('state').length);
    assert.ok(Date.now() - downAt < 1000, `withdrawn after ${Date.now() - downAt} ms`);
    assert.equal(down.interface, 'eth0');
    assert.deepEqual(await arping('192.0.2.230'), []);
    const gratuitousBefore = (await r.counters()).gratuitousSent;
    const statesSoFar = r.events('state').length;
    const upAt = Date.now();
    await bed.exec(a, ['ip', 'link', 'set', 'eth0', 'up']);
    await r.waitForEvent('state', (e) => e.state === 'active', 3000, statesSoFar);
    assert.ok(Date.now() - upAt < 1000, `back after ${Date.now() - upAt} ms`);
    assert.deepEqual(await arping('192.0.2.230'), [a.mac, a.mac]);
    assert.ok((await r.counters()).gratuitousSent > gratuitousBefore, 'announced again on the way back');
    await r.set([]);
  });

  it('starts answering on a link that appears later (a second NIC with no address) and stops when it goes', async () => {
    const r = runner(a);
    await r.set([{ address: '192.0.2.230', interface: 'eth1' }]);
    assert.deepEqual(await arping('192.0.2.230'), [], 'nothing to answer on yet');
    const mac = '02:48:52:00:01:01';
    const states = r.events('state').length;
    const addedAt = Date.now();
    await bed.addLanPort(a, 'eth1', mac);
    await r.waitForEvent('state', (e) => e.interface === 'eth1' && e.state === 'active', 3000, states);
    assert.ok(Date.now() - addedAt < 1500, `active ${Date.now() - addedAt} ms after the link was created`);
    assert.deepEqual(await arping('192.0.2.230'), [mac, mac]);
    const gone = r.events('state').length;
    await bed.exec(a, ['ip', 'link', 'del', 'eth1']);
    await r.waitForEvent('state', (e) => e.interface === 'eth1' && e.state === 'missing', 1000, gone);
    assert.deepEqual(await arping('192.0.2.230'), []);
    await r.set([]);
  });

  it('answers on a VLAN sub-interface', async (t) => {
    const probe = await bed.execStatus(a, ['ip', 'link', 'add', 'link', 'eth0', 'name', 'eth0.100', 'type', 'vlan', 'id', '100']);
    if (probe.code !== 0 && /Unknown device type|not supported/i.test(probe.stderr)) {
      t.skip('this kernel has no 802.1Q support (CONFIG_VLAN_8021Q); VLAN sub-interfaces cannot exist here');
      return;
    }
    assert.equal(probe.code, 0, probe.stderr);
    await bed.exec(a, ['ip', 'link', 'set', 'eth0.100', 'up']);
    await bed.exec(bed.client, ['sh', '-ec', 'ip link add link eth0 name eth0.100 type vlan id 100 && ip link set eth0.100 up && ip addr add 203.0.113.100/24 dev eth0.100']);
    await bed.exec(a, ['ip', 'route', 'add', '203.0.113.0/24', 'dev', 'eth0.100']);
    await bed.kubeProxy(a, [{ vip: '203.0.113.10', port: 80, targetPort: 8080 }]);
    await runner(a).set([{ address: '203.0.113.10', interface: 'eth0.100' }]);
    assert.deepEqual(await arping('203.0.113.10', 2, 'eth0.100'), [a.mac, a.mac]);
    assert.deepEqual(await arping('203.0.113.10', 2, 'eth0'), [], 'not answered untagged');
    assert.equal(await curl('http://203.0.113.10/'), 'a');
    await runner(a).set([]);
  });
});
