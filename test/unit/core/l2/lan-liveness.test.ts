import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIVENESS, LanLiveness, MAX_PAUSE_MS, successorsInRing, type MarkWrite, type RingSpec } from '../../../../src/core/l2/lan-liveness.js';
import type { LanSend } from '../../../../src/core/l2/lan-messages.js';

const LINK = 'eth1';
const macOf = (n: string): string => `02:00:00:00:00:${n.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** A few LanLiveness instances on one link, frames delivered at once unless a path is cut. */
class Lan {
  readonly nodes = new Map<string, LanLiveness>();
  readonly down = new Set<string>();
  /** Directed paths that drop frames: "from>to". */
  readonly cutPaths = new Set<string>();
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();
  now = 0;
  /** Share of frames lost, drawn from a fixed sequence (the same run every time). */
  loss = 0;
  private seed = 12345;

  /** `groups`: the rings (by id, all on LINK) and their members; one ring of every node by default. */
  constructor(names: string[], private readonly groups?: ReadonlyMap<string, readonly string[]>) {
    for (const n of names) this.nodes.set(n, new LanLiveness(n));
    this.rings();
  }

  rings(): void {
    const groups = this.groups ?? new Map([[LINK, [...this.nodes.keys()]]]);
    for (const [n, l] of this.nodes) {
      const mine = new Map<string, RingSpec>();
      for (const [id, members] of groups) if (members.includes(n)) mine.set(id, { link: LINK, members: members.map((node) => ({ node, mac: macOf(node) })) });
      l.setRings(mine, this.now);
    }
  }

  /** The API shows these marks on `node` to every instance (a watch that delivered them). */
  apiMarks(node: string, links: string[], at: Iterable<LanLiveness> = this.nodes.values()): void {
    for (const l of at) l.setApiMarks(node, links);
  }

  /** Mark writes that the instances ask for now (the test plays the API: none of them lands unless it says so). */
  writes(): Array<MarkWrite & { by: string }> {
    return [...this.nodes].filter(([n]) => !this.down.has(n)).flatMap(([by, l]) => l.markWrites(this.now).map((w) => ({ ...w, by })));
  }

  /** Cut a node off the LAN entirely (no carrier change). */
  cut(n: string): void {
    for (const m of this.nodes.keys()) if (m !== n) { this.cutPaths.add(`${n}>${m}`); this.cutPaths.add(`${m}>${n}`); }
  }

  deliver(from: string, sends: LanSend[]): void {
    const queue: Array<[string, LanSend]> = sends.map((s) => [from, s]);
    while (queue.length > 0) {
      const [src, s] = queue.shift()!;
      // The "back" frames a starting agent broadcasts (pause of 0 ms) are not the steady state's cost.
      const counted = s.msg.kind !== 'pause';
      if (counted) this.sent.set(src, (this.sent.get(src) ?? 0) + 1);
      // A broadcast reaches the nodes of the sender's segment (its rings), not other racks.
      const segment = this.groups === undefined ? [...this.nodes.keys()] : [...this.groups.values()].filter((g) => g.includes(src)).flat();
      const targets = s.to === '*' ? segment.filter((n) => n !== src) : [s.to];
      for (const to of targets) {
        if (this.down.has(to) || this.cutPaths.has(`${src}>${to}`) || this.lost()) continue;
        const l = this.nodes.get(to);
        if (l === undefined) continue;
        if (counted) this.received.set(to, (this.received.get(to) ?? 0) + 1);
        for (const r of l.received({ link: LINK, from: src, fromMac: macOf(src), msg: s.msg }, this.now)) queue.push([to, r]);
      }
    }
  }

  private lost(): boolean {
    if (this.loss === 0) return false;
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648 < this.loss;
  }

  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += DEFAULT_LIVENESS.helloIntervalMs;
      for (const [n, l] of this.nodes) if (!this.down.has(n)) this.deliver(n, l.tick(this.now));
    }
  }

  /** Run until every live node other than `who` sees `target` unreachable; the time it took. */
  until(pred: () => boolean, limitMs: number): number {
    const start = this.now;
    while (!pred()) {
      if (this.now - start > limitMs) return Infinity;
      this.run(DEFAULT_LIVENESS.helloIntervalMs);
    }
    return this.now - start;
  }
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i));

describe('LAN liveness', () => {
  it('rings: each node has the next two as monitors', () => {
    assert.deepEqual(successorsInRing(['a', 'b', 'c', 'd'], 'c', 2), ['d', 'a']);
    assert.deepEqual(successorsInRing(['a', 'b'], 'a', 2), ['b']);
    assert.deepEqual(successorsInRing(['a'], 'a', 2), []);
  });

  it('steady state: every node sends and hears 2 hellos per interval, whatever the ring size; nobody is suspected', () => {
    for (const n of [3, 10, 26]) {
      const lan = new Lan(names(n));
      lan.run(2000);
      for (const [name, l] of lan.nodes) {
        assert.equal(lan.sent.get(name), 2 * 2000 / DEFAULT_LIVENESS.helloIntervalMs, `${name} in a ring of ${n}`);
        assert.equal(lan.received.get(name), 2 * 2000 / DEFAULT_LIVENESS.helloIntervalMs);
        assert.deepEqual(l.status(lan.now).links[LINK]?.suspected, []);
        assert.deepEqual(l.markWrites(lan.now), []);
        for (const other of lan.nodes.keys()) assert.deepEqual(l.unreachable(other), []);
      }
    }
  });

  it('a crashed node is condemned by a monitor, confirmed by a helper, and every node hears it within 400 ms', () => {
    const lan = new Lan(names(6));
    lan.run(1000);
    lan.down.add('c');
    const took = lan.until(() => [...lan.nodes].every(([n, l]) => n === 'c' || l.unreachable('c').includes(LINK)), 2000);
    assert.ok(took <= 400, `took ${took} ms`);
    const writers = [...lan.nodes].filter(([n]) => n !== 'c').flatMap(([, l]) => l.markWrites(lan.now));
    assert.ok(writers.length >= 1 && writers.every((w) => w.node === 'c' && w.action === 'mark' && w.link === LINK), JSON.stringify(writers));
    assert.match(writers[0]!.reason, /heard nothing from it/);
  });

  it('a node cut off from the LAN condemns nobody, goes deaf, and is condemned by the others', () => {
    const lan = new Lan(names(5));
    lan.run(1000);
    lan.cut('b');
    lan.run(1500);
    const b = lan.nodes.get('b')!;
    for (const other of lan.nodes.keys()) assert.deepEqual(b.unreachable(other), [], `b condemned ${other}`);
    assert.deepEqual(b.markWrites(lan.now).filter((w) => w.action === 'mark'), []);
    assert.deepEqual(b.deaf(lan.now), [LINK]);
    for (const [n, l] of lan.nodes) if (n !== 'b') { assert.deepEqual(l.unreachable('b'), [LINK]); assert.deepEqual(l.deaf(lan.now), []); }
  });

  it('one broken path (a cannot hear c) is not taken for c being down: the helpers vouch for it', () => {
    const lan = new Lan(names(5));
    lan.run(1000);
    lan.cutPaths.add('c>a');
    lan.run(2000);
    for (const l of lan.nodes.values()) assert.deepEqual(l.unreachable('c'), []);
  });

  it('a node heard again is no longer unreachable, and a monitor clears its mark after clearAfterMs', () => {
    const lan = new Lan(names(4));
    lan.run(1000);
    lan.down.add('d');
    lan.run(600);
    for (const l of lan.nodes.values()) l.setApiMarks('d', [LINK]);
    lan.down.delete('d');
    lan.run(200);
    const a = lan.nodes.get('a')!;
    assert.deepEqual(a.unreachable('d'), [LINK], 'the API mark still counts');
    const clearedAt = lan.until(() => [...lan.nodes.values()].some((l) => l.markWrites(lan.now).some((w) => w.action === 'clear' && w.node === 'd')), 3000);
    assert.ok(clearedAt >= DEFAULT_LIVENESS.clearAfterMs - 300 && clearedAt < 2000, `cleared after ${clearedAt} ms`);
  });

  it('in a ring of two there is nobody to ask: silence alone condemns, after suspect + confirm', () => {
    const lan = new Lan(names(2));
    lan.run(500);
    lan.down.add('b');
    const took = lan.until(() => lan.nodes.get('a')!.unreachable('b').length > 0, 2000);
    assert.ok(took >= DEFAULT_LIVENESS.suspectAfterMs + DEFAULT_LIVENESS.confirmTimeoutMs - 50 && took <= 500, `took ${took}`);
    assert.deepEqual(lan.nodes.get('a')!.deaf(lan.now), [], 'no deafness is judged in a ring of two');
  });

  it('a LAN verdict lapses after lanVerdictMs unless the API shows it', () => {
    const lan = new Lan(names(3));
    lan.run(500);
    const a = lan.nodes.get('a')!;
    a.received({ link: LINK, from: 'b', fromMac: macOf('b'), msg: { kind: 'down', nonce: 7, target: 'z' } }, lan.now);
    assert.deepEqual(a.unreachable('z'), [LINK]);
    lan.run(DEFAULT_LIVENESS.lanVerdictMs + 100);
    assert.deepEqual(a.unreachable('z'), []);
  });

  it('a probe-req about ourselves is answered alive, and a probe is acked to its sender', () => {
    const l = new LanLiveness('a');
    l.setRings(new Map([[LINK, names(3).map((node) => ({ node, mac: macOf(node) }))]]), 0);
    assert.deepEqual(l.received({ link: LINK, from: 'b', fromMac: macOf('b'), msg: { kind: 'probe', nonce: 9, target: 'a' } }, 1), [
      { link: LINK, to: 'b', toMac: macOf('b'), msg: { kind: 'ack', nonce: 9 } },
    ]);
    const [res] = l.received({ link: LINK, from: 'c', fromMac: macOf('c'), msg: { kind: 'probe-req', nonce: 3, target: 'a', targetMac: macOf('a') } }, 2);
    assert.deepEqual(res?.msg, { kind: 'probe-res', nonce: 3, target: 'a', alive: true });
  });
  it('a marked node clears its own mark once a strict majority of the ring answers it, when its only monitor cannot write (seed 230)', () => {
    // c hung and was marked; a, its monitor, is cut off from the API (the test lands none of its
    // writes); b is down. Only c can write, and c, marked, watches nobody: it checks for itself.
    const lan = new Lan(names(3));
    lan.loss = 0.2;
    lan.run(1000);
    lan.down.add('c');
    assert.ok(lan.until(() => lan.nodes.get('a')!.unreachable('c').includes(LINK), 2000) < Infinity);
    lan.apiMarks('c', [LINK]);
    lan.down.add('b');
    lan.down.delete('c');
    let own: MarkWrite | undefined;
    const took = lan.until(() => (own ??= lan.writes().find((w) => w.by === 'c' && w.node === 'c' && w.action === 'clear')) !== undefined, 5000);
    assert.ok(took >= DEFAULT_LIVENESS.clearAfterMs && took <= DEFAULT_LIVENESS.clearAfterMs + 400, `c cleared itself after ${took} ms`);
    assert.match(own!.reason, /2 of 3 nodes of the ring answered our probes/);
    // c's clear lands; a's watch never shows it (a is still cut off from the API). c now watches b,
    // and condemns it with a's help, while a, which still sees c marked, keeps sending c hellos: c,
    // for which a and c make a ring of two, must not take a's silence for a verdict.
    lan.apiMarks('c', [], [lan.nodes.get('c')!]);
    assert.ok(lan.until(() => lan.nodes.get('c')!.unreachable('b').includes(LINK), 2000) < Infinity, 'c condemns b');
    lan.run(20_000);
    assert.deepEqual(lan.nodes.get('c')!.unreachable('a'), [], 'c never condemns a');
    assert.deepEqual(lan.nodes.get('a')!.unreachable('c'), [LINK], 'a still goes by its stale view of the API');
  });

  it('a marked node on the minority side never clears itself, and probes nobody once its mark is gone', () => {
    const lan = new Lan(names(5));
    lan.run(1000);
    lan.apiMarks('c', [LINK]);
    // c reaches only b, which does not watch it (its monitors are d and e): no monitor hears it.
    for (const n of ['a', 'd', 'e']) { lan.cutPaths.add(`c>${n}`); lan.cutPaths.add(`${n}>c`); }
    lan.run(5000);
    assert.deepEqual(lan.writes().filter((w) => w.node === 'c' && w.action === 'clear'), [], 'only b answers c: 2 of 5');
    lan.cutPaths.clear();
    assert.ok(lan.until(() => lan.writes().some((w) => w.node === 'c' && w.action === 'clear'), 3000) < Infinity, 'healed: c is cleared');
    lan.apiMarks('c', []);
    lan.run(200);
    const before = lan.sent.get('c') ?? 0;
    lan.run(1000);
    assert.equal((lan.sent.get('c') ?? 0) - before, 2 * 1000 / DEFAULT_LIVENESS.helloIntervalMs, 'back to two hellos per interval');
  });

  it('verdicts heard on the LAN are dropped when the API clears the mark, not kept until lanVerdictMs', () => {
    const a = new LanLiveness('a');
    a.setRings(new Map([[LINK, names(4).map((node) => ({ node, mac: macOf(node) }))]]), 0);
    a.received({ link: LINK, from: 'b', fromMac: macOf('b'), msg: { kind: 'down', nonce: 7, target: 'd' } }, 10);
    a.setApiMarks('d', [LINK]);
    assert.deepEqual(a.unreachable('d'), [LINK]);
    const version = a.version;
    a.setApiMarks('d', []);
    assert.deepEqual(a.unreachable('d'), [], 'the clear ends the episode the verdict belongs to');
    assert.ok(a.version > version, 'a change to re-select on');
    // Without the clear, a verdict stands: a mark alone going away is what drops it.
    a.received({ link: LINK, from: 'b', fromMac: macOf('b'), msg: { kind: 'down', nonce: 8, target: 'c' } }, 20);
    a.setApiMarks('c', []);
    assert.deepEqual(a.unreachable('c'), [LINK]);
  });

  describe('quorum reached, then the suspect gets a probe timeout to answer', () => {
    // a in a ring a..e watches d and e (d's monitors are e and a, e's are a and b). e sends hellos;
    // d falls silent; e, the first helper, says it is dead; then b and c answer the quorum probes.
    const story = (dAnswersAt: number | undefined, confirm = true): { reachedAt: number; condemnedAt: number | undefined } => {
      const a = new LanLiveness('a');
      a.setRings(new Map([[LINK, names(5).map((node) => ({ node, mac: macOf(node) }))]]), 0);
      const frame = (from: string, msg: LanSend['msg'], at: number): LanSend[] => a.received({ link: LINK, from, fromMac: macOf(from), msg }, at);
      let nonce: number | undefined;
      let reachedAt = -1;
      let condemnedAt: number | undefined;
      for (let t = 50; t <= 1500 && condemnedAt === undefined; t += 50) {
        frame('e', { kind: 'hello', seq: t }, t - 1);
        const out = a.tick(t);
        if (out.some((s) => s.msg.kind === 'down' && s.msg.target === 'd')) condemnedAt = t;
        const req = out.find((s) => s.msg.kind === 'probe-req' && s.to === 'e');
        if (nonce === undefined && req !== undefined) {
          nonce = req.msg.kind === 'probe-req' ? req.msg.nonce : undefined;
          frame('e', { kind: 'probe-res', nonce: nonce!, target: 'd', alive: false }, t + 5);
          frame('b', { kind: 'ack', nonce: nonce! }, t + 10);
          assert.deepEqual(a.status(t + 10).links[LINK]?.suspected, ['d'], 'one answer of three is no majority');
          const probed = frame('c', { kind: 'ack', nonce: nonce! }, t + 20);
          assert.ok(probed.some((s) => s.to === 'd' && s.msg.kind === 'probe'), 'the suspect is probed again when the majority is reached');
          assert.ok(['b', 'c', 'e'].every((m) => probed.some((s) => s.to === m && s.msg.kind === 'probe')), 'and so is the whole sample, to confirm the majority');
          reachedAt = t + 20;
          // The confirming round: b and c answer again (e's hellos keep coming).
          if (confirm) { frame('b', { kind: 'ack', nonce: nonce! }, reachedAt + 3); frame('c', { kind: 'ack', nonce: nonce! }, reachedAt + 4); }
          if (dAnswersAt !== undefined) frame('d', { kind: 'ack', nonce: nonce! }, reachedAt + dAnswersAt);
        }
        if (reachedAt >= 0 && condemnedAt === undefined && t > reachedAt) assert.deepEqual(a.unreachable('d'), t - reachedAt >= DEFAULT_LIVENESS.probeTimeoutMs && dAnswersAt === undefined && confirm ? [LINK] : []);
      }
      return { reachedAt, condemnedAt };
    };

    it('silent for the whole probe timeout: condemned at the first tick after it, not before', () => {
      const { reachedAt, condemnedAt } = story(undefined);
      assert.ok(reachedAt > 0 && condemnedAt !== undefined);
      assert.ok(condemnedAt - reachedAt >= DEFAULT_LIVENESS.probeTimeoutMs && condemnedAt - reachedAt < DEFAULT_LIVENESS.probeTimeoutMs + DEFAULT_LIVENESS.helloIntervalMs, `${condemnedAt - reachedAt} ms`);
    });

    it('a majority that does not answer the confirming round (a new cut during the round) condemns nobody: answers from before it never count with answers after it', () => {
      const { reachedAt, condemnedAt } = story(undefined, false);
      assert.ok(reachedAt > 0);
      assert.equal(condemnedAt, undefined);
    });

    it('answering within it (a heal that brought the majority back brought it back too): not condemned', () => {
      const { reachedAt, condemnedAt } = story(DEFAULT_LIVENESS.probeTimeoutMs - 10);
      assert.ok(reachedAt > 0);
      assert.equal(condemnedAt, undefined);
    });
  });

  it('a suspicion whose quorum was reached ends when another monitor condemns the suspect: the clear does not revive it (seeds 105080, 106554)', () => {
    // a in a ring a..e watches d. d falls silent; e says it is dead; b and c answer the quorum
    // probes; then, before a's probe timeout runs out, the API shows d marked (another monitor
    // condemned it). Much later the mark is cleared, with a cut off from b, c and e: the answers
    // a gathered then must not condemn d now, from the minority side.
    const a = new LanLiveness('a');
    a.setRings(new Map([[LINK, names(5).map((node) => ({ node, mac: macOf(node) }))]]), 0);
    const frame = (from: string, msg: LanSend['msg'], at: number): LanSend[] => a.received({ link: LINK, from, fromMac: macOf(from), msg }, at);
    let t = 0;
    let reached = false;
    while (!reached && t < 1500) {
      t += 50;
      frame('e', { kind: 'hello', seq: t }, t - 1);
      const req = a.tick(t).find((s) => s.msg.kind === 'probe-req' && s.to === 'e');
      if (req?.msg.kind !== 'probe-req') continue;
      const nonce = req.msg.nonce;
      frame('e', { kind: 'probe-res', nonce, target: 'd', alive: false }, t + 5);
      frame('b', { kind: 'ack', nonce }, t + 10);
      frame('c', { kind: 'ack', nonce }, t + 20);
      reached = true;
    }
    assert.ok(reached, 'the quorum was reached');
    a.setApiMarks('d', [LINK]);
    for (let i = 0; i < 20; i++) { t += 50; for (const n of ['b', 'c', 'e']) frame(n, { kind: 'hello', seq: t }, t - 1); a.tick(t); }
    assert.deepEqual(a.status(t).links[LINK]?.suspected, [], 'no suspicion of a node the API shows condemned');
    // Cut off: nothing from anyone from here on.
    a.setApiMarks('d', []);
    for (let i = 0; i < 20; i++) {
      t += 50;
      const out = a.tick(t);
      assert.ok(!out.some((s) => s.msg.kind === 'down'), `no verdict from the old quorum at ${t} ms`);
    }
    assert.deepEqual(a.unreachable('d'), []);
  });

  it('neighbours cut off together: those nobody live watches are adopted by the condemning monitor, in the same round', () => {
    // b..e cut off in a ring of ten. f watches d and e; nobody that hears the LAN watches b (its
    // monitors are c and d) or c (d and e). Left to the ring, they are found once it has shrunk
    // past d and e; f, condemning d with b and c silent among the quorum, suspects them at once.
    const lan = new Lan(names(10));
    lan.run(1000);
    const run = ['b', 'c', 'd', 'e'];
    for (const n of run) lan.cut(n);
    const start = lan.now;
    const at = new Map<string, number>();
    lan.until(() => {
      for (const n of run) if (!at.has(n) && lan.nodes.get('a')!.unreachable(n).includes(LINK)) at.set(n, lan.now - start);
      return at.size === run.length;
    }, 3000);
    const first = Math.min(...at.values());
    const last = Math.max(...at.values());
    assert.ok(first <= 400, `first condemned after ${first} ms`);
    // Adopted with their silence counted from the condemnation: a helper's answer and the quorum, no new silence.
    assert.ok(last - first <= 2 * DEFAULT_LIVENESS.helloIntervalMs, `${JSON.stringify([...at])}: the run took ${last - first} ms after the first`);
    const byF = lan.writes().filter((w) => w.by === 'f' && w.action === 'mark').map((w) => w.node).sort();
    assert.deepEqual(byF, run, 'f, which watches only d and e, condemns b and c too');
    for (const n of names(10).filter((x) => !run.includes(x))) for (const l of lan.nodes.values()) assert.deepEqual(l.unreachable(n), [], `${n} condemned`);
  });

  describe('two racks with the same link name: a ring each', () => {
    const racks = new Map([['eth1/rack-a', ['a', 'b', 'c']], ['eth1/rack-b', ['d', 'e', 'f']]]);

    it('steady state: nobody sends a frame across racks, and each node pays 2 hellos per interval', () => {
      const lan = new Lan(names(6), racks);
      for (const x of ['a', 'b', 'c']) for (const y of ['d', 'e', 'f']) { lan.cutPaths.add(`${x}>${y}`); lan.cutPaths.add(`${y}>${x}`); }
      lan.run(2000);
      for (const n of lan.nodes.keys()) assert.equal(lan.received.get(n), 2 * 2000 / DEFAULT_LIVENESS.helloIntervalMs, n);
    });

    it('a rack cut off whole (its uplink) is condemned by nobody: the other rack never watches it, and it still hears itself', () => {
      const lan = new Lan(names(6), racks);
      lan.run(1000);
      for (const x of ['a', 'b', 'c']) for (const y of ['d', 'e', 'f']) { lan.cutPaths.add(`${x}>${y}`); lan.cutPaths.add(`${y}>${x}`); }
      lan.run(5000);
      for (const [n, l] of lan.nodes) {
        for (const other of lan.nodes.keys()) assert.deepEqual(l.unreachable(other), [], `${n} condemned ${other}`);
        assert.deepEqual(l.deaf(lan.now), [], `${n} deaf`);
        assert.deepEqual(l.markWrites(lan.now), []);
      }
    });

    it('a rack whose nodes are each cut off: nobody condemns anybody (no majority anywhere in it), each goes deaf; the other rack sees nothing', () => {
      const lan = new Lan(names(6), racks);
      lan.run(1000);
      for (const n of ['d', 'e', 'f']) lan.cut(n);
      lan.run(5000);
      for (const [n, l] of lan.nodes) {
        for (const other of lan.nodes.keys()) assert.deepEqual(l.unreachable(other), [], `${n} condemned ${other}`);
        assert.deepEqual(l.deaf(lan.now), ['d', 'e', 'f'].includes(n) ? [LINK] : [], n);
      }
      assert.deepEqual(lan.writes(), []);
    });
  });
});

describe('LAN liveness: restart in place', () => {
  /** Hellos, probes and acks from `n` stop (its agent process is gone); frames to it are lost. */
  const gone = (lan: Lan, n: string): void => { lan.down.add(n); };

  it('a paused node is not suspected until its deadline; silent after it, it is condemned as usual (grace + the usual bound)', () => {
    const lan = new Lan(names(5));
    lan.run(1000);
    const c = lan.nodes.get('c')!;
    lan.deliver('c', c.pauseSelf(3000));
    const pausedAt = lan.now;
    gone(lan, 'c');
    for (const [n, l] of lan.nodes) if (n !== 'c') assert.deepEqual(l.status(lan.now).paused, ['c'], n);
    lan.run(2900);
    for (const [n, l] of lan.nodes) {
      if (n === 'c') continue;
      assert.deepEqual(l.unreachable('c'), [], `${n} condemned c during its pause`);
      assert.deepEqual(l.status(lan.now).links[LINK]?.suspected, [], `${n} suspects during the pause`);
      assert.deepEqual(l.deaf(lan.now), []);
    }
    assert.deepEqual(lan.writes(), []);
    const took = lan.until(() => [...lan.nodes].every(([n, l]) => n === 'c' || l.unreachable('c').includes(LINK)), 3000);
    const after = lan.now - pausedAt;
    assert.ok(after >= 3000 + DEFAULT_LIVENESS.suspectAfterMs && took < 3000, `condemned ${after} ms after the pause`);
    assert.ok(after <= 3000 + 450, `condemned ${after} ms after the pause`);
  });

  it('a hello from the paused node ends its pause: silent again, it is suspected after the usual suspicion', () => {
    const lan = new Lan(names(4));
    lan.run(1000);
    const b = lan.nodes.get('b')!;
    lan.deliver('b', b.pauseSelf(60_000));
    gone(lan, 'b');
    lan.run(1000);
    // A new agent on b: a fresh instance, that sends hellos.
    lan.nodes.set('b', new LanLiveness('b'));
    lan.down.delete('b');
    lan.rings();
    lan.run(500);
    for (const [n, l] of lan.nodes) if (n !== 'b') assert.deepEqual(l.status(lan.now).paused, [], `${n} still sees b paused`);
    gone(lan, 'b');
    const took = lan.until(() => [...lan.nodes].every(([n, l]) => n === 'b' || l.unreachable('b').includes(LINK)), 3000);
    assert.ok(took <= 450, `took ${took} ms`);
  });

  it('the pause on the node Lease holds back a monitor that missed the frames; a hello ends it, and the same Lease delivered again does not restart it', () => {
    const lan = new Lan(names(3));
    lan.run(1000);
    const a = lan.nodes.get('a')!;
    // c never sends a pause frame (all lost); only the API says it restarts, until now + 2 s.
    for (const l of lan.nodes.values()) l.setApiPause('c', { until: lan.now + 2000, token: 'T1' });
    gone(lan, 'c');
    lan.run(1500);
    assert.deepEqual(a.unreachable('c'), []);
    assert.deepEqual(a.status(lan.now).paused, ['c']);
    lan.down.delete('c');
    lan.run(200);
    assert.deepEqual(a.status(lan.now).paused, []);
    a.setApiPause('c', { until: lan.now + 2000, token: 'T1' });
    assert.deepEqual(a.status(lan.now).paused, [], 'a pause a hello ended is not taken up again');
    a.setApiPause('c', { until: lan.now + 2000, token: 'T2' });
    assert.deepEqual(a.status(lan.now).paused, ['c'], 'a new restart is');
    a.setApiPause('c', undefined);
    assert.deepEqual(a.status(lan.now).paused, []);
  });

  it('a paused node sends no hellos; a pause longer than MAX_PAUSE_MS is cut to it', () => {
    const lan = new Lan(names(3));
    lan.run(500);
    const a = lan.nodes.get('a')!;
    const frames = a.pauseSelf(24 * 3600_000);
    assert.deepEqual(frames.map((f) => [f.to, f.msg]), [['*', { kind: 'pause', graceMs: MAX_PAUSE_MS }]]);
    assert.deepEqual(a.tick(lan.now + 50), []);
    lan.deliver('a', frames);
    const b = lan.nodes.get('b')!;
    assert.equal(b.isPaused('a', lan.now + MAX_PAUSE_MS - 1), true);
    assert.equal(b.isPaused('a', lan.now + MAX_PAUSE_MS), false);
  });
});
