/**
 * LivenessLinks on real links: two node namespaces on the test LAN exchange
 * liveness frames through the addon, the kernel filter keeps frames for other
 * MACs out, and a malformed frame is counted and reported, not fatal.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { LanMessage, LanReceived, LanSend } from '../../src/core/l2/lan-messages.js';
import type { LivenessCounters } from '../../src/l2/liveness-links.js';
import { encodeLivenessFrame } from '../../src/packet/liveness-frame.js';
import type { Node, Spawned } from '../../harness/testbed.js';
import { Testbed, waitUntil } from '../../harness/testbed.js';

const probe = fileURLToPath(new URL('../../harness/liveness-probe.js', import.meta.url));
const STRANGER_MAC = '02:48:52:00:ee:01';

interface Event { event: string; id?: number; [k: string]: unknown }

class Runner {
  #id = 0;
  #seen = 0;

  constructor(readonly node: Node, readonly p: Spawned) {}

  events(): Event[] {
    return this.p.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
  }

  /** Waits for an event after those already consumed by earlier waits. */
  async next(pred: (e: Event) => boolean, what: string, timeoutMs = 5000): Promise<Event> {
    const { value } = await waitUntil(what, () => {
      const all = this.events();
      const i = all.findIndex((e, at) => at >= this.#seen && pred(e));
      if (i < 0) return Promise.resolve(undefined);
      this.#seen = i + 1;
      return Promise.resolve(all[i]);
    }, timeoutMs, 10);
    return value;
  }

  async command(op: string, body: object = {}): Promise<Event> {
    const id = ++this.#id;
    this.p.write(JSON.stringify({ op, id, ...body }));
    const { value } = await waitUntil(`${op} ${id} on ${this.node.name}`, () =>
      Promise.resolve(this.events().find((e) => e.id === id && e.event !== 'frame')), 5000, 10);
    return value;
  }

  async send(s: LanSend): Promise<boolean> {
    return (await this.command('send', { send: s })).ok === true;
  }

  async counters(): Promise<{ counters: LivenessCounters; kernel: number; wire: number }> {
    const e = await this.command('counters');
    return { counters: e.counters as LivenessCounters, kernel: e.kernel as number, wire: e.wire as number };
  }

  frames(): LanReceived[] {
    return this.events().filter((e) => e.event === 'frame').map(({ event: _e, ...rest }) => rest as unknown as LanReceived);
  }
}

describe('LivenessLinks on a real LAN', () => {
  let bed: Testbed;
  let r0: Runner;
  let r1: Runner;

  const start = async (node: Node): Promise<Runner> => {
    const r = new Runner(node, bed.spawn(node, [process.execPath, probe, 'eth0', node.name, '0']));
    await r.p.waitFor(/"event":"ready"/);
    await r.next((e) => e.event === 'state' && e.state === 'active', `${node.name} active`);
    return r;
  };

  before(async () => {
    bed = await Testbed.create({ nodes: 2 });
    r0 = await start(bed.node('node0'));
    r1 = await start(bed.node('node1'));
  });
  after(async () => { await bed.destroy(); });

  const to = (r: Runner, msg: LanMessage): LanSend => ({ link: 'eth0', to: r.node.name, toMac: r.node.mac, msg });

  it('carries every kind of message between two nodes, with sender, MAC and fields intact', async () => {
    const messages: [Runner, Runner, LanMessage][] = [
      [r0, r1, { kind: 'hello', seq: 1 }],
      [r1, r0, { kind: 'probe', nonce: 0xfedcba98, target: 'node0' }],
      [r0, r1, { kind: 'ack', nonce: 0xfedcba98 }],
      [r0, r1, { kind: 'probe-req', nonce: 7, target: 'node2', targetMac: '02:48:52:00:03:00' }],
      [r1, r0, { kind: 'probe-res', nonce: 7, target: 'node2', alive: false }],
      [r1, r0, { kind: 'probe-res', nonce: 8, target: 'node2', alive: true }],
    ];
    for (const [from, dest, msg] of messages) {
      assert.equal(await from.send(to(dest, msg)), true);
      const got = await dest.next((e) => e.event === 'frame', `${msg.kind} at ${dest.node.name}`);
      assert.deepEqual(got, { event: 'frame', link: 'eth0', from: from.node.name, fromMac: from.node.mac, msg });
    }
    const c0 = await r0.counters();
    assert.deepEqual(c0.counters, { framesSent: 3, framesReceived: 3, malformed: 0, errors: 0 });
    assert.equal(c0.kernel, 3, 'the kernel passed exactly the frames for us');
  });

  it('never delivers a frame addressed to another MAC: the kernel filter drops it', async () => {
    const before0 = await r0.counters();
    // The bridge does not know this MAC, so it floods the frame to node0 too.
    assert.equal(await r1.send({ link: 'eth0', to: 'stranger', toMac: STRANGER_MAC, msg: { kind: 'hello', seq: 100 } }), true);
    assert.equal(await r1.send(to(r0, { kind: 'hello', seq: 101 })), true);
    const got = await r0.next((e) => e.event === 'frame', 'hello 101 at node0');
    assert.deepEqual(got.msg, { kind: 'hello', seq: 101 });
    // The tap socket may read a moment after the liveness socket: wait for it.
    const { value: after0 } = await waitUntil('both frames on node0’s link', async () => {
      const c = await r0.counters();
      return c.wire - before0.wire >= 2 ? c : undefined;
    }, 5000);
    assert.equal(after0.wire - before0.wire, 2, 'both frames reached node0’s link');
    assert.equal(after0.kernel - before0.kernel, 1, 'only the frame for node0 left the kernel');
    assert.equal(after0.counters.framesReceived - before0.counters.framesReceived, 1);
    assert.equal(after0.counters.malformed, before0.counters.malformed);
    assert.ok(!r0.frames().some((f) => f.msg.kind === 'hello' && f.msg.seq === 100));
  });

  it('counts and reports malformed frames, and keeps working', async () => {
    const before0 = await r0.counters();
    const good = encodeLivenessFrame({ dstMac: r0.node.mac, srcMac: r1.node.mac, from: 'node1', msg: { kind: 'hello', seq: 200 } });
    const badVersion = Buffer.from(good);
    badVersion[16] = 7;
    const shortName = Buffer.from(good.subarray(0, 24));
    shortName[23] = 40;
    for (const f of [badVersion, shortName]) {
      const sent = await r1.command('raw', { hex: f.toString('hex') });
      assert.equal(sent.ok, true, String(sent.error));
    }
    const p1 = await r0.next((e) => e.event === 'problem', 'first problem at node0');
    assert.deepEqual(p1, { event: 'problem', link: 'eth0', message: `malformed frame from ${r1.node.mac}: liveness frame: unknown version 7` });
    const p2 = await r0.next((e) => e.event === 'problem', 'second problem at node0');
    // Nothing pads it on the way (veth and bridge pass it as sent), so it ends inside the name.
    assert.match(String(p2.message), /liveness frame: hello sender name length 40 runs past the end \(24 bytes\)$/);
    assert.equal(await r1.send(to(r0, { kind: 'hello', seq: 201 })), true);
    const got = await r0.next((e) => e.event === 'frame', 'hello 201 at node0');
    assert.deepEqual(got.msg, { kind: 'hello', seq: 201 });
    const after0 = await r0.counters();
    assert.equal(after0.counters.malformed - before0.counters.malformed, 2);
    assert.equal(after0.counters.framesReceived - before0.counters.framesReceived, 1);
    assert.equal(r0.p.child.exitCode, null, 'still running');
  });

  it('closes the socket while the link is down and carries frames again once it is up', async () => {
    await bed.exec(r0.node, ['ip', 'link', 'set', 'eth0', 'down']);
    await r0.next((e) => e.event === 'state' && e.state === 'down', 'node0 down');
    assert.equal(await r0.send(to(r1, { kind: 'hello', seq: 300 })), false);
    await r0.next((e) => e.event === 'problem' && String(e.message).includes('link is down'), 'send problem');
    await bed.exec(r0.node, ['ip', 'link', 'set', 'eth0', 'up']);
    await r0.next((e) => e.event === 'state' && e.state === 'active', 'node0 active again');
    assert.equal(await r0.send(to(r1, { kind: 'hello', seq: 301 })), true);
    const got = await r1.next((e) => e.event === 'frame', 'hello 301 at node1');
    assert.deepEqual(got.msg, { kind: 'hello', seq: 301 });
    assert.ok(!r1.frames().some((f) => f.msg.kind === 'hello' && f.msg.seq === 300));
  });
});
