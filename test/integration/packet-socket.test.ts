/**
 * The native packet-socket addon on real links in a test namespace: error
 * messages, the kernel filter, multicast membership and resource cleanup.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Testbed } from '../../harness/testbed.js';

const probe = fileURLToPath(new URL('../../harness/packet-probe.js', import.meta.url));

describe('packet socket addon', () => {
  let bed: Testbed;

  const runProbe = async (where: 'node' | 'client', args: string[], prefix: string[] = []) => {
    const host = where === 'node' ? bed.node('node0') : bed.client;
    const { stdout } = await bed.exec(host, [...prefix, process.execPath, probe, ...args], { timeoutMs: 60_000 });
    return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  before(async () => { bed = await Testbed.create({ nodes: 1 }); });
  after(async () => { await bed.destroy(); });

  it('names an unknown interface as such', async () => {
    const [r] = await runProbe('node', ['errors', 'nosuch0']);
    assert.deepEqual(r!.result, { code: 'ENODEV', message: 'unknown interface "nosuch0"' });
    const [long] = await runProbe('node', ['errors', 'a-name-longer-than-ifnamsiz']);
    assert.equal((long!.result as { code: string }).code, 'ENODEV');
  });

  it('says that CAP_NET_RAW is needed when it is missing', async () => {
    const [r] = await runProbe('node', ['errors', 'eth0'], ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw', '--']);
    assert.deepEqual(r!.result, { code: 'EPERM', message: 'opening a packet socket needs CAP_NET_RAW (EPERM)' });
  });

  it('leaks no file descriptors over many open/close cycles, and refuses use after close', async () => {
    const [r] = await runProbe('node', ['leak', 'eth0', '500']);
    assert.equal(r!.n, 500);
    assert.equal(r!.after, r!.before, `fds before ${String(r!.before)}, after ${String(r!.after)}`);
    assert.equal(r!.closedUse, 'EBADF');
    assert.ok(!(r!.maddr as string[]).includes('33:33:ff:00:00:10'), 'no membership outlives its socket');
  });

  it('reference-counts solicited-node memberships', async () => {
    const [r] = await runProbe('node', ['membership', 'eth0']);
    assert.deepEqual(r!.steps, { initially: false, joinedOnce: true, joinedTwiceLeftOnce: true, leftTwice: false, closedWhileJoined: false });
    assert.equal(r!.badMac, 'EINVAL');
  });

  it('keeps reading after a one-command link bounce, and on a socket opened while its link was down', async () => {
    const [r] = await runProbe('node', ['deafness']);
    const { bounce, openedDown } = r as Record<string, { errors: string[]; received: number; state: { running: boolean } }>;
    // Before the fix both received 0: libuv stopped polling at the first POLLERR and nobody resumed it.
    assert.deepEqual(bounce, { errors: ['ENETDOWN'], received: 5, state: { up: true, running: true } });
    assert.deepEqual(openedDown, { errors: ['ENETDOWN'], received: 5, state: { up: true, running: true } });
  });

  it('refuses an interface name it would have to cut, or that contains a NUL, instead of opening another interface', async () => {
    const [r] = await runProbe('node', ['names']);
    assert.match(String(r?.cut), /not a valid interface name: 17 bytes, at most 15/);
    assert.match(String(r?.nul), /contains a NUL/);
    assert.match(String(r?.long), /not a valid interface name: 16 bytes/);
  });

  it('passes only frames about announced addresses to JavaScript, and never our own', async () => {
    const receiver = bed.spawn(bed.node('node0'), [process.execPath, probe, 'receive', 'eth0', '6000', '192.0.2.250', '2001:db8::250']);
    await receiver.waitFor(/"ready":true/);
    // 2000 requests for unrelated addresses, then three for ours.
    await runProbe('client', ['flood', 'eth0', '2000', '20000']);
    await bed.execStatus(bed.client, ['arping', '-c', '3', '-w', '3', '-I', 'eth0', '192.0.2.250']);
    await bed.execStatus(bed.client, ['ndisc6', '-n', '-r', '1', '-w', '300', '2001:db8::250', 'eth0']);
    const line = await receiver.waitFor(/"kinds"/, 10_000);
    const r = JSON.parse(line) as { kinds: Record<string, number>; stats: { packets: number; drops: number } };
    // other:<ethertype>:<pkttype>; pkttype 1 = broadcast, 2 = multicast
    assert.deepEqual(r.kinds, { 'other:806:1': 3, 'other:86dd:2': 1 });
    assert.equal(r.stats.packets, 4, 'the kernel queued only the four matching frames');
    assert.equal(r.stats.drops, 0);
  });
});
