/**
 * `herald announce` inside a node namespace, with the kernel's own stack,
 * curl, arping and ndisc6 in a client namespace as the peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Spawned } from '../../harness/testbed.js';
import { Testbed, arpingReplies, ndisc6Replies } from '../../harness/testbed.js';
import { heraldCli } from '../../harness/entry-points.js';

const VIP4 = '192.0.2.200';
const VIP6 = '2001:db8::200';

describe('herald announce', () => {
  let bed: Testbed;
  let announce: Spawned;

  before(async () => {
    bed = await Testbed.create({ nodes: 1 });
    const node = bed.node('node0');
    await bed.serveHttp(node);
    await bed.kubeProxy(node, [{ vip: VIP4, port: 80, targetPort: 8080 }, { vip: VIP6, port: 80, targetPort: 8080 }]);
    announce = bed.spawn(node, [process.execPath, heraldCli, 'announce', '--interface', 'eth0', VIP4, VIP6]);
    await announce.waitFor(/announcing 192\.0\.2\.200, 2001:db8::200 on eth0/);
  });

  after(async () => {
    await bed.destroy();
  });

  it('lets curl reach the VIP over IPv4 through its ARP answer', async () => {
    const { stdout } = await bed.exec(bed.client, ['curl', '-sS', '--max-time', '5', `http://${VIP4}/`]);
    assert.equal(stdout, 'node0\n');
    assert.equal((await bed.neighbour(bed.client, VIP4))?.mac, bed.node('node0').mac);
    await announce.waitFor(/ARP 192\.0\.2\.200 is-at us -> 192\.0\.2\.100/);
  });

  it('lets curl reach the VIP over IPv6 through its neighbour advertisement', async () => {
    const { stdout } = await bed.exec(bed.client, ['curl', '-sS', '--max-time', '5', `http://[${VIP6}]/`]);
    assert.equal(stdout, 'node0\n');
    assert.equal((await bed.neighbour(bed.client, VIP6))?.mac, bed.node('node0').mac);
    await announce.waitFor(/NDP 2001:db8::200 is-at us/);
  });

  it('gives arping exactly one answer per probe, with the node MAC', async () => {
    const { stdout } = await bed.exec(bed.client, ['arping', '-c', '3', '-w', '5', '-I', 'eth0', VIP4]);
    assert.deepEqual(arpingReplies(stdout), Array(3).fill(bed.node('node0').mac));
  });

  it('gives ndisc6 exactly one advertisement, with the node MAC', async () => {
    // -m: wait for all answers rather than stopping at the first.
    const { stdout } = await bed.exec(bed.client, ['ndisc6', '-m', '-n', '-r', '1', '-w', '1000', VIP6, 'eth0']);
    assert.deepEqual(ndisc6Replies(stdout), [bed.node('node0').mac]);
  });

  it('does not answer for an address it was not given, nor make host ports reachable on the VIP', async () => {
    const r = await bed.execStatus(bed.client, ['arping', '-c', '2', '-w', '2', '-I', 'eth0', '192.0.2.201']);
    assert.deepEqual(arpingReplies(r.stdout), []);
    assert.notEqual(r.code, 0);
    // The VIP is not on any interface of the node: only the DNATed port answers.
    const { stdout } = await bed.exec(bed.node('node0'), ['ip', '-o', 'addr', 'show']);
    assert.doesNotMatch(stdout, /192\.0\.2\.200|2001:db8::200/);
    const other = await bed.execStatus(bed.client, ['curl', '-sS', '--max-time', '2', `http://${VIP4}:8080/`]);
    assert.notEqual(other.code, 0, 'port 8080 of the node is not reachable on the VIP');
  });

  it('prints counters and exits 0 on SIGTERM', async () => {
    const code = await announce.stop();
    assert.equal(code, 0);
    const last = announce.lines.at(-1) ?? '';
    const m = /stopped; counters (\{.*\})$/.exec(last);
    assert.ok(m, last);
    const counters = JSON.parse(m[1]!) as Record<string, number>;
    assert.ok(counters.repliesSent! >= 5, `replies ${counters.repliesSent}`);
    assert.ok(counters.gratuitousSent! >= 3);
    assert.equal(counters.errors, 0);
  });
});

describe('herald announce: bad input', () => {
  let bed: Testbed;
  before(async () => { bed = await Testbed.create({ nodes: 1 }); });
  after(async () => { await bed.destroy(); });

  const announce = (args: string[], prefix: string[] = []) =>
    bed.execStatus(bed.node('node0'), [...prefix, process.execPath, heraldCli, 'announce', ...args]);

  it('rejects an invalid address with exit code 2', async () => {
    const r = await announce(['-i', 'eth0', '192.0.2.300']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not an IPv4 or IPv6 address: "192\.0\.2\.300"/);
  });

  it('rejects an unknown interface with exit code 2, naming it', async () => {
    const r = await announce(['-i', 'nosuch0', '192.0.2.200']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown interface "nosuch0"/);
  });

  it('requires --interface and an address', async () => {
    assert.equal((await announce(['192.0.2.200'])).code, 2);
    assert.equal((await announce(['-i', 'eth0'])).code, 2);
  });

  it('says CAP_NET_RAW is needed, with exit code 1, when it lacks it', async () => {
    const r = await announce(['-i', 'eth0', '192.0.2.200'], ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw', '--']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /needs CAP_NET_RAW/);
  });
});
