import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { ARP_REQUEST, encodeArp } from '../../../src/packet/arp.js';
import { encodeEthernet } from '../../../src/packet/ethernet.js';
import { parseIp } from '../../../src/packet/ip.js';
import { ECHO_BURST, ECHO_PER_SECOND, REANNOUNCE_MIN_MS, RECOVERY_UNFIT_MS, Responder } from '../../../src/l2/responder.js';
import { gratuitousFrames } from '../../../src/l2/frames.js';
import { runBpf } from '../../support/bpf-interpreter.js';
import { passAllArpNdFilter } from '../../../src/packet/bpf-filter.js';
import { FakeLinks, fakeOpener, link } from '../../support/fakes.js';
import type { FakeSocket } from '../../support/fakes.js';
import { ARPING_REQUEST, NDISC6_SOLICITATION, PING_REQUEST } from '../../support/frames.js';

const MAC_A = '02:00:00:00:00:0a';
const burst = { rounds: 3, intervalMs: 20 };

function setup(up = true) {
  const links = new FakeLinks([link('eth0', 2, MAC_A, up), link('eth1', 3, '02:00:00:00:01:0a')]);
  const fake = fakeOpener(links);
  const registry = new Registry();
  const r = new Responder({ links, open: fake.open, burst, registry });
  return { links, fake, r, registry };
}

function only(sockets: FakeSocket[]): FakeSocket {
  const open = sockets.filter((s) => !s.closed);
  assert.equal(open.length, 1, `open sockets: ${open.length}`);
  return open[0]!;
}

function arpRequestFor(target: string): Buffer {
  const senderMac = Buffer.from('02000000000b', 'hex');
  return encodeEthernet({
    dst: Buffer.alloc(6, 0xff), src: senderMac, etherType: 0x0806,
    payload: encodeArp({ op: ARP_REQUEST, senderMac, senderIp: parseIp('192.0.2.100')!.bytes, targetMac: Buffer.alloc(6), targetIp: parseIp(target)!.bytes }),
  });
}

describe('Responder', () => {
  it('opens one socket per interface, filters on the set, joins solicited-node groups and bursts', async () => {
    const { fake, r } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '2001:db8::10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    assert.deepEqual([...s.groups], [['33:33:ff:00:00:10', 1]]);
    assert.equal(runBpf(s.filters.at(-1)!, ARPING_REQUEST, { pkttype: 1, vlanTagPresent: false }) > 0, true);
    assert.equal(runBpf(s.filters.at(-1)!, arpRequestFor('192.0.2.11'), { pkttype: 1, vlanTagPresent: false }), 0);
    assert.equal(s.sent.length, 3, 'round 1: two gratuitous ARPs and one NA, immediately');
    await sleep(burst.intervalMs * 4);
    assert.equal(s.sent.length, 9, 'three rounds');
    assert.equal(r.counters().gratuitousSent, 9);
    r.close();
    assert.ok(s.closed);
  });

  it('answers requests, counts them, and publishes the counts as metrics', async () => {
    const { fake, r, registry } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '2001:db8::10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    const replies: string[] = [];
    r.on('reply', (e) => replies.push(e.address));
    const before = s.sent.length;
    s.receive(ARPING_REQUEST);
    s.receive(NDISC6_SOLICITATION);
    s.receive(arpRequestFor('192.0.2.99')); // a request the filter would have dropped
    s.receive(Buffer.from('00', 'hex'));
    assert.equal(s.sent.length - before, 2);
    assert.deepEqual(replies, ['192.0.2.10', '2001:db8::10']);
    const c = r.counters();
    assert.equal(c.requestsSeen, 3);
    assert.equal(c.repliesSent, 2);
    assert.equal(c.malformed, 1);
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)?.values[0]?.value;
    assert.equal(value('herald_l2_replies_sent_total'), 2);
    assert.equal(value('herald_l2_requests_seen_total'), 3);
    r.close();
  });

  it('stops answering a removed address at once and cancels its burst', async () => {
    const { fake, r } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '2001:db8::10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    r.setDesired([{ address: '2001:db8::10', interface: 'eth0' }]);
    assert.equal(only(fake.sockets), s, 'the socket is kept');
    assert.deepEqual([...s.groups], [['33:33:ff:00:00:10', 1]]);
    const before = s.sent.length;
    s.receive(ARPING_REQUEST);
    assert.equal(s.sent.length, before, 'no reply for the removed address');
    assert.equal(runBpf(s.filters.at(-1)!, ARPING_REQUEST, { pkttype: 1, vlanTagPresent: false }), 0, 'kernel filter narrowed');
    await sleep(burst.intervalMs * 4);
    const arps = s.sent.slice(before).filter((f) => f.readUInt16BE(12) === 0x0806);
    assert.equal(arps.length, 0, 'no more gratuitous ARP for it');
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.equal(s.groups.size, 0, 'solicited-node group left');
    r.setDesired([]);
    assert.ok(s.closed);
    r.close();
  });

  it('keeps a shared solicited-node group until the last address using it goes', () => {
    const { fake, r } = setup();
    // Same low 24 bits, so the same group.
    r.setDesired([{ address: '2001:db8::10', interface: 'eth0' }, { address: '2001:db8:1::10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    assert.deepEqual([...s.groups], [['33:33:ff:00:00:10', 2]]);
    r.setDesired([{ address: '2001:db8:1::10', interface: 'eth0' }]);
    assert.deepEqual([...s.groups], [['33:33:ff:00:00:10', 1]]);
    r.close();
  });

  it('withdraws when the link goes down and comes back with a new burst when it comes up', () => {
    const { links, fake, r } = setup();
    const states: string[] = [];
    r.on('state', (e) => states.push(`${e.interface}:${e.state}`));
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const first = only(fake.sockets);
    links.set([link('eth0', 2, MAC_A, false)]);
    assert.ok(first.closed, 'socket closed while down');
    assert.equal(fake.sockets.filter((s) => !s.closed).length, 0);
    links.set([link('eth0', 2, MAC_A, true)]);
    const second = only(fake.sockets);
    assert.notEqual(second, first);
    assert.equal(second.sent.length, 2, 'gratuitous ARP again on the way back');
    links.set([]);
    assert.ok(second.closed);
    links.set([link('eth0', 7, MAC_A, true)]);
    assert.equal(only(fake.sockets).ifindex, 7, 'reopened on the re-created link');
    assert.deepEqual(states, ['eth0:active', 'eth0:down', 'eth0:active', 'eth0:missing', 'eth0:active']);
    r.close();
  });

  it('waits for an interface that does not exist yet', () => {
    const { links, fake, r } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth9' }]);
    assert.equal(fake.sockets.length, 0);
    assert.deepEqual(r.status(), [{ interface: 'eth9', state: 'missing', addresses: ['192.0.2.10'], unanswerable: ['192.0.2.10'] }]);
    links.set([...links.links.values(), link('eth9', 9, '02:00:00:00:09:0a')]);
    assert.equal(only(fake.sockets).name, 'eth9');
    r.close();
  });

  it('emits a conflict when another MAC announces one of our addresses', () => {
    const { fake, r } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const conflicts: unknown[] = [];
    r.on('conflict', (e) => conflicts.push(e));
    const [garp] = gratuitousFrames(parseIp('192.0.2.10')!, Buffer.from('02000000000c', 'hex'));
    only(fake.sockets).receive(garp!);
    assert.deepEqual(conflicts, [{ interface: 'eth0', family: 4, address: '192.0.2.10', mac: '02:00:00:00:00:0c', foreign: false }]);
    assert.equal(r.counters().conflictsSeen, 1);
    r.close();
  });

  it('reports a forger\'s conflicts at most once a second per MAC and ten a second per interface, and counts every frame', () => {
    const { fake, r } = setup();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    const filtersBefore = s.filters.length;
    const conflicts: string[] = [];
    r.on('conflict', (e) => conflicts.push(e.mac));
    const addr = parseIp('192.0.2.10')!;
    const mac = (i: number) => Buffer.from(`02000000${(0x1000 + i).toString(16)}`, 'hex');
    for (let i = 0; i < 100; i++) s.receive(gratuitousFrames(addr, mac(0))[0]!);
    assert.deepEqual(conflicts, ['02:00:00:00:10:00'], 'one report for one MAC');
    for (let i = 1; i <= 50; i++) s.receive(gratuitousFrames(addr, mac(i))[0]!);
    assert.equal(conflicts.length, 10, 'made-up MACs are capped per interface');
    assert.equal(r.counters().conflictsSeen, 150, 'every frame counted');
    assert.equal(s.filters.length, filtersBefore, 'no filter attached');
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.equal(s.filters.length, filtersBefore, 'a re-plan that changes nothing attaches no filter');
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '192.0.2.11', interface: 'eth0' }]);
    assert.equal(s.filters.length, filtersBefore + 1, 'a changed set does');
    r.close();
  });

  it('re-announces against a foreign MAC at once, then at most every REANNOUNCE_MIN_MS, and not against a herald node\'s', async () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const herald = '02:00:00:00:00:0d';
    const r = new Responder({ links, open: fake.open, burst: { rounds: 1, intervalMs: 60_000 }, foreignMac: (m) => m !== herald });
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    const addr = parseIp('192.0.2.10')!;
    const foreign: boolean[] = [];
    r.on('conflict', (e) => foreign.push(e.foreign));
    const base = s.sent.length;
    s.receive(gratuitousFrames(addr, Buffer.from('02000000000d', 'hex'))[0]!);
    assert.equal(s.sent.length, base, 'a herald node is left to the Lease');
    s.receive(gratuitousFrames(addr, Buffer.from('02000000000e', 'hex'))[0]!);
    assert.equal(s.sent.length, base + 2, 'gratuitous ARP, both forms, at once');
    const sent = s.sent.slice(base).map((f) => f.subarray(6, 12).toString('hex'));
    assert.deepEqual(sent, ['02000000000a', '02000000000a'], 'from our MAC');
    for (let i = 0; i < 20; i++) s.receive(gratuitousFrames(addr, Buffer.from('02000000000e', 'hex'))[0]!);
    assert.equal(s.sent.length, base + 2, 'a flood waits for the interval');
    await sleep(REANNOUNCE_MIN_MS * 2);
    assert.equal(s.sent.length, base + 4, 'one re-announcement after the interval, for the whole flood');
    assert.equal(r.counters().reannounced, 4);
    assert.deepEqual(foreign, [false, true]);
    r.close();
  });

  it('after a socket error, re-announces once the link runs, and is unfit while it does not', async () => {
    const { fake, r, registry } = setup();
    const fitness: string[] = [];
    r.on('fitness', (e) => fitness.push(`${e.interface}:${e.fit}`));
    const recovered: string[] = [];
    r.on('recovered', (e) => recovered.push(e.code));
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    // A bounce as quick as one command: the link is back before anyone looks.
    s.error();
    assert.equal(s.sent.length, 4, 'burst round 1, then again at once after the error');
    assert.deepEqual(recovered, ['ENETDOWN']);
    assert.equal(r.status()[0]?.state, 'active');
    // A longer one: down when the error arrives.
    s.link = { up: false, running: false };
    s.error();
    assert.equal(r.status()[0]?.state, 'recovering');
    assert.deepEqual(r.status()[0]?.unanswerable, ['192.0.2.10']);
    await sleep(RECOVERY_UNFIT_MS + 150);
    assert.deepEqual([...r.unfitLinks().keys()], ['eth0']);
    assert.deepEqual(fitness, ['eth0:false']);
    const sentWhileDown = s.sent.length;
    s.link = { up: true, running: true };
    await sleep(120);
    assert.equal(r.status()[0]?.state, 'active');
    assert.ok(s.sent.length >= sentWhileDown + 2, 'a burst on the way back');
    assert.deepEqual(fitness, ['eth0:false', 'eth0:true']);
    assert.equal(r.counters().socketErrors, 2);
    assert.equal(r.counters().recoveries, 2);
    const metrics = await registry.getMetricsAsJSON();
    assert.equal(metrics.find((m) => m.name === 'herald_l2_socket_errors_by_code_total')?.values[0]?.labels.code, 'ENETDOWN');
    assert.equal(metrics.find((m) => m.name === 'herald_l2_unanswerable_addresses')?.values[0]?.value, 0);
    // Fatal: a new socket.
    s.error({ fatal: true, code: 'EIO' });
    assert.ok(s.closed);
    assert.equal(only(fake.sockets).sent.length, 2, 'the new socket bursts');
    r.close();
  });

  it('is unfit on a link where its socket cannot open, also after the addresses moved away, until a socket opens', async () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const r = new Responder({ links, open: fake.open, burst: { rounds: 1, intervalMs: 60_000 }, retryMs: 20 });
    fake.fail.code = 'ENOMEM';
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.match(r.unfitLinks().get('eth0') ?? '', /cannot open a packet socket: simulated ENOMEM/);
    r.setDesired([]);
    await sleep(60);
    assert.ok(r.unfitLinks().has('eth0'), 'still unfit: the probe fails too');
    fake.fail.code = undefined;
    await sleep(60);
    assert.equal(r.unfitLinks().size, 0, 'a probe socket opened');
    r.close();
  });

  it('is unfit while an IPv6 address\'s solicited-node group cannot be joined', async () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const r = new Responder({ links, open: fake.open, burst: { rounds: 1, intervalMs: 60_000 }, retryMs: 20 });
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    s.failJoins = 'ENOBUFS';
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '2001:db8::10', interface: 'eth0' }]);
    assert.match(r.unfitLinks().get('eth0') ?? '', /solicited-node group of 2001:db8::10/);
    assert.deepEqual(r.status()[0]?.unanswerable, ['2001:db8::10']);
    s.failJoins = undefined;
    await sleep(60);
    assert.equal(r.unfitLinks().size, 0, 'joined on retry');
    assert.deepEqual([...s.groups.keys()], ['33:33:ff:00:00:10']);
    r.close();
  });

  it('retries an interface whose socket could not be opened', async () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const r = new Responder({ links, open: fake.open, burst: { rounds: 3, intervalMs: 60_000 }, retryMs: 20 });
    fake.fail.code = 'ENODEV';
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.equal(r.status()[0]?.state, 'error');
    await sleep(60);
    assert.equal(fake.sockets.length, 0, 'still failing');
    fake.fail.code = undefined;
    await sleep(60);
    assert.equal(r.status()[0]?.state, 'active');
    assert.equal(only(fake.sockets).sent.length, 2, 'first gratuitous round sent once it worked');
    r.close();
  });

  it('counts errors and reports problems instead of throwing', () => {
    const { fake, r } = setup();
    const problems: string[] = [];
    r.on('problem', (e) => problems.push(e.code ?? e.message));
    fake.fail.code = 'EPERM';
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.deepEqual(problems, ['EPERM']);
    assert.equal(r.status()[0]?.state, 'error');
    fake.fail.code = undefined;
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '192.0.2.11', interface: 'eth0' }]);
    const s = only(fake.sockets);
    s.failSends = true;
    s.receive(ARPING_REQUEST);
    assert.equal(r.counters().errors, 2);
    assert.equal(r.counters().repliesSent, 0);
    assert.throws(() => { r.setDesired([{ address: '192.0.2.300', interface: 'eth0' }]); }, /not an IP address/);
    r.close();
  });
});

describe('Responder: ping opt-in', () => {
  it('answers echo requests only for pairs with echo set, within the rate limit, and counts the rest', () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const r = new Responder({ links, open: fake.open, burst: { rounds: 1, intervalMs: 60_000 } });
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    const sent = () => s.sent.filter((f) => f.readUInt16BE(12) === 0x0800).length;
    const toOurs = Buffer.from(PING_REQUEST);
    MAC_A.split(':').forEach((b, i) => { toOurs[i] = parseInt(b, 16); });
    s.receive(toOurs);
    assert.equal(sent(), 0, 'no opt-in, no answer');
    const filters = s.filters.length;
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0', echo: true }]);
    assert.equal(s.filters.length, filters + 1, 'the opt-in changes the filter');
    const t0 = performance.now();
    for (let i = 0; i < ECHO_BURST + 30; i++) s.receive(toOurs);
    // The bucket refills at ECHO_PER_SECOND while the loop runs (slowly, on a loaded machine).
    const refilled = Math.ceil(((performance.now() - t0) / 1000) * ECHO_PER_SECOND);
    assert.ok(sent() >= ECHO_BURST && sent() <= ECHO_BURST + refilled, `a burst, then the limit: ${sent()} sent`);
    assert.equal(r.counters().echoReplies, sent());
    assert.equal(r.counters().echoLimited, ECHO_BURST + 30 - sent());
    const answered = sent();
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    s.receive(toOurs);
    assert.equal(r.counters().echoReplies, answered, 'opted out again');
    r.close();
  });
});

describe('Responder: filters the kernel refuses', () => {
  it('falls back to the pass-all program, which still answers, then is unfit when even that is refused', () => {
    const { fake, r } = setup();
    const problems: string[] = [];
    r.on('problem', (e) => problems.push(e.message));
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    const s = only(fake.sockets);
    assert.equal(r.status()[0]?.filter?.mode, 'exact');
    const passAll = passAllArpNdFilter(true, false);
    s.refuseFilter = (p) => p.length !== passAll.length;
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '192.0.2.11', interface: 'eth0' }]);
    assert.equal(r.status()[0]?.filter?.mode, 'pass-all');
    assert.deepEqual(s.filters.at(-1), passAll);
    assert.equal(r.counters().filterFallbacks, 1);
    assert.match(problems.at(-1) ?? '', /refused the socket filter.*passing all ARP\/NDP.*optmem_max/);
    assert.equal(r.unfitLinks().size, 0, 'still answering');
    const before = s.sent.length;
    s.receive(ARPING_REQUEST);
    assert.equal(s.sent.length, before + 1, 'answered through the pass-all filter');
    s.refuseFilter = () => true;
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }]);
    assert.match(r.unfitLinks().get('eth0') ?? '', /cannot attach a socket filter/);
    s.refuseFilter = undefined;
    r.setDesired([{ address: '192.0.2.10', interface: 'eth0' }, { address: '192.0.2.12', interface: 'eth0' }]);
    assert.equal(r.unfitLinks().size, 0, 'fit once a filter attaches again');
    assert.equal(r.status()[0]?.filter?.mode, 'exact');
    r.close();
  });
});
