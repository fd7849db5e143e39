import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { LanReceived } from '../../../src/core/l2/lan-messages.js';
import { LivenessLinks } from '../../../src/l2/liveness-links.js';
import { decodeLivenessFrame, encodeLivenessFrame } from '../../../src/packet/liveness-frame.js';
import { runBpf } from '../../support/bpf-interpreter.js';
import { FakeLinks, fakeOpener, link } from '../../support/fakes.js';
import type { FakeSocket } from '../../support/fakes.js';
import { ARPING_REQUEST } from '../../support/frames.js';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const PEER = '02:00:00:00:00:99';

function setup(opts: { problemIntervalMs?: number } = {}) {
  const links = new FakeLinks([link('eth0', 2, MAC_A), link('eth1', 3, MAC_B)]);
  const fake = fakeOpener(links);
  const registry = new Registry();
  const l = new LivenessLinks({ links, nodeName: 'node-a', open: fake.open, registry, problemIntervalMs: opts.problemIntervalMs ?? 0 });
  const states: string[] = [];
  const problems: string[] = [];
  const frames: LanReceived[] = [];
  l.on('state', (e) => states.push(`${e.link}:${e.state}`));
  l.on('problem', (e) => problems.push(e.message));
  l.on('frame', (e) => frames.push(e));
  return { links, fake, l, registry, states, problems, frames };
}

function openOn(sockets: FakeSocket[], name: string): FakeSocket {
  const open = sockets.filter((s) => !s.closed && s.name === name);
  assert.equal(open.length, 1, `open sockets on ${name}: ${open.length}`);
  return open[0]!;
}

const fromPeer = (dstMac: string) => encodeLivenessFrame({ dstMac, srcMac: PEER, from: 'node-b', msg: { kind: 'probe', nonce: 3, target: 'node-a' } });

describe('LivenessLinks', () => {
  it('opens a socket per wanted link with a filter for its MAC, and closes links no longer wanted', () => {
    const { fake, l, states } = setup();
    l.setLinks(['eth0', 'eth1']);
    const s0 = openOn(fake.sockets, 'eth0');
    const s1 = openOn(fake.sockets, 'eth1');
    const host = { pkttype: 0, vlanTagPresent: false };
    assert.ok(runBpf(s0.filters[0]!, fromPeer(MAC_A), host) > 0);
    assert.equal(runBpf(s0.filters[0]!, fromPeer(MAC_B), host), 0, 'the other link’s MAC');
    assert.equal(runBpf(s0.filters[0]!, ARPING_REQUEST, host), 0);
    assert.deepEqual(l.status(), [{ link: 'eth0', state: 'active', mac: MAC_A }, { link: 'eth1', state: 'active', mac: MAC_B }]);
    l.setLinks(['eth1']);
    assert.ok(s0.closed);
    assert.ok(!s1.closed);
    l.setLinks(['eth1']);
    assert.equal(fake.sockets.length, 2, 'an unchanged link keeps its socket');
    assert.deepEqual(states, ['eth0:active', 'eth1:active']);
    l.close();
    assert.ok(s1.closed);
  });

  it('follows link state: closes while down or missing, reopens when back, on a new index or MAC', () => {
    const { links, fake, l, states } = setup();
    l.setLinks(['eth0', 'eth9']);
    assert.equal(fake.sockets.length, 1, 'eth9 does not exist yet');
    const first = openOn(fake.sockets, 'eth0');
    links.set([link('eth0', 2, MAC_A, false)]);
    assert.ok(first.closed);
    links.set([link('eth0', 2, MAC_A)]);
    const second = openOn(fake.sockets, 'eth0');
    links.set([link('eth0', 7, MAC_A)]);
    assert.ok(second.closed);
    assert.equal(openOn(fake.sockets, 'eth0').ifindex, 7);
    links.set([link('eth0', 7, '02:00:00:00:00:0c')]);
    const third = openOn(fake.sockets, 'eth0');
    assert.equal(runBpf(third.filters[0]!, fromPeer('02:00:00:00:00:0c'), { pkttype: 0, vlanTagPresent: false }) > 0, true, 'filter follows the MAC');
    assert.equal(l.macOf('eth0'), '02:00:00:00:00:0c');
    links.set([{ ...link('eth0', 7, MAC_A), mac: undefined }]);
    assert.ok(third.closed, 'no MAC, no socket');
    links.set([]);
    links.set([link('eth0', 8, MAC_A), link('eth9', 9, '02:00:00:00:09:0a')]);
    openOn(fake.sockets, 'eth9');
    assert.deepEqual(states, [
      'eth0:active', 'eth0:down', 'eth0:active', 'eth0:active', 'eth0:active', 'eth0:down', 'eth0:missing', 'eth0:active', 'eth9:active',
    ]);
    l.close();
    assert.equal(fake.sockets.filter((s) => !s.closed).length, 0);
  });

  it('sends from the link’s MAC with this node’s name, and counts it', async () => {
    const { fake, l, registry } = setup();
    l.setLinks(['eth1']);
    const msg = { kind: 'probe-req', nonce: 11, target: 'node-c', targetMac: '02:00:00:00:00:cc' } as const;
    assert.equal(l.send({ link: 'eth1', to: 'node-b', toMac: PEER, msg }), true);
    const sent = openOn(fake.sockets, 'eth1').sent;
    assert.equal(sent.length, 1);
    const d = decodeLivenessFrame(sent[0]!);
    assert.ok(d.ok);
    assert.deepEqual(d.value, { dstMac: PEER, srcMac: MAC_B, from: 'node-a', msg });
    assert.equal(l.counters.framesSent, 1);
    const metrics = await registry.getMetricsAsJSON();
    assert.equal(metrics.find((m) => m.name === 'herald_liveness_frames_sent_total')?.values[0]?.value, 1);
    l.close();
  });

  it('returns false without throwing when there is no socket or the send fails, and says why', () => {
    const { links, fake, l, problems } = setup();
    const hello = { kind: 'hello', seq: 1 } as const;
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: PEER, msg: hello }), false, 'not a wanted link');
    l.setLinks(['eth0']);
    links.set([link('eth0', 2, MAC_A, false)]);
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: PEER, msg: hello }), false, 'link down');
    links.set([link('eth0', 2, MAC_A)]);
    const s = openOn(fake.sockets, 'eth0');
    s.failSends = true;
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: PEER, msg: hello }), false, 'kernel refuses');
    s.failSends = false;
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: 'not-a-mac', msg: hello }), false, 'cannot encode');
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: PEER, msg: { kind: 'probe', nonce: 1, target: '' } }), false);
    assert.deepEqual(problems, [
      'cannot send hello to node-b: not a liveness link',
      'cannot send hello to node-b: link is down',
      'sending hello to node-b failed: sending frame: No buffer space available (ENOBUFS)',
      'cannot encode hello to node-b: liveness frame: destination MAC "not-a-mac" is not a MAC address',
      'cannot encode probe to node-b: liveness frame: target name must be 1..253 bytes of UTF-8, got 0',
    ]);
    assert.deepEqual(l.counters, { framesSent: 0, framesReceived: 0, malformed: 0, errors: 5 });
    assert.equal(s.sent.length, 0);
    l.close();
    l.close();
    assert.equal(l.send({ link: 'eth0', to: 'node-b', toMac: PEER, msg: hello }), false, 'after close');
    assert.equal(problems.length, 5, 'nothing reported after close');
    assert.throws(() => { l.setLinks(['eth0']); }, /closed/);
  });

  it('emits valid frames with the Ethernet source, and counts and reports malformed ones', async () => {
    const { fake, l, registry, problems, frames } = setup();
    l.setLinks(['eth0']);
    const s = openOn(fake.sockets, 'eth0');
    s.receive(fromPeer(MAC_A));
    assert.deepEqual(frames, [{ link: 'eth0', from: 'node-b', fromMac: PEER, msg: { kind: 'probe', nonce: 3, target: 'node-a' } }]);
    const bad = fromPeer(MAC_A);
    bad[16] = 7;
    s.receive(bad);
    s.receive(Buffer.alloc(3));
    s.receive(fromPeer(MAC_B)); // not ours: the kernel filter would have dropped it
    assert.equal(frames.length, 1);
    assert.deepEqual(problems, [
      `malformed frame from ${PEER}: liveness frame: unknown version 7`,
      'malformed frame: liveness frame: truncated Ethernet header (3 bytes)',
    ]);
    assert.deepEqual(l.counters, { framesSent: 0, framesReceived: 1, malformed: 2, errors: 0 });
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)?.values[0]?.value;
    assert.equal(value('herald_liveness_malformed_frames_total'), 2);
    assert.equal(value('herald_liveness_frames_received_total'), 1);
    assert.equal(value('herald_liveness_errors_total'), 0);
    l.close();
    s.receive(fromPeer(MAC_A));
    assert.equal(frames.length, 1, 'nothing after close');
  });

  it('reports the first malformed frame at once and holds back repeats for the interval', async () => {
    const { fake, l, problems } = setup({ problemIntervalMs: 50 });
    l.setLinks(['eth0']);
    const s = openOn(fake.sockets, 'eth0');
    const bad = fromPeer(MAC_A);
    bad[14] = 0;
    for (let i = 0; i < 5; i++) s.receive(bad);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /bad magic 0x0052/);
    await sleep(70);
    s.receive(bad);
    assert.equal(problems.length, 2);
    assert.match(problems[1]!, /\(and 4 more like it since the last report\)$/);
    assert.equal(l.counters.malformed, 6, 'every one counted');
    l.close();
  });

  it('retries a link whose socket could not be opened', async () => {
    const links = new FakeLinks([link('eth0', 2, MAC_A)]);
    const fake = fakeOpener(links);
    const l = new LivenessLinks({ links, nodeName: 'node-a', open: fake.open, retryMs: 20 });
    const problems: (string | undefined)[] = [];
    l.on('problem', (e) => problems.push(e.code));
    fake.fail.code = 'EPERM';
    l.setLinks(['eth0']);
    assert.equal(l.status()[0]?.state, 'error');
    await sleep(60);
    assert.ok(problems.length >= 2, 'retried');
    assert.deepEqual(new Set(problems), new Set(['EPERM']));
    fake.fail.code = undefined;
    await sleep(60);
    assert.equal(l.status()[0]?.state, 'active');
    openOn(fake.sockets, 'eth0');
    assert.ok(l.counters.errors >= 2);
    l.close();
  });

  it('refuses a node name that could never be sent', () => {
    const links = new FakeLinks([]);
    assert.throws(() => new LivenessLinks({ links, nodeName: '' }), /node name must be 1\.\.253 bytes/);
    assert.throws(() => new LivenessLinks({ links, nodeName: 'x'.repeat(254) }), /got 254/);
    assert.equal(links.listenerCount('change'), 0);
  });

  it('gives the inventory’s MAC of any link', () => {
    const { l } = setup();
    assert.equal(l.macOf('eth1'), MAC_B);
    assert.equal(l.macOf('nosuch'), undefined);
    l.close();
  });
});
