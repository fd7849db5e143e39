import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIVENESS, LanLiveness, successorsInRing } from '../../../../src/core/l2/lan-liveness.js';
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

  constructor(names: string[]) {
    for (const n of names) this.nodes.set(n, new LanLiveness(n));
    this.rings();
  }

  rings(): void {
    const members = [...this.nodes.keys()].map((node) => ({ node, mac: macOf(node) }));
    for (const l of this.nodes.values()) l.setRings(new Map([[LINK, members]]), this.now);
  }

  /** Cut a node off the LAN entirely (no carrier change). */
  cut(n: string): void {
    for (const m of this.nodes.keys()) if (m !== n) { this.cutPaths.add(`${n}>${m}`); this.cutPaths.add(`${m}>${n}`); }
  }

  deliver(from: string, sends: LanSend[]): void {
    const queue: Array<[string, LanSend]> = sends.map((s) => [from, s]);
    while (queue.length > 0) {
      const [src, s] = queue.shift()!;
      this.sent.set(src, (this.sent.get(src) ?? 0) + 1);
      const targets = s.to === '*' ? [...this.nodes.keys()].filter((n) => n !== src) : [s.to];
      for (const to of targets) {
        if (this.down.has(to) || this.cutPaths.has(`${src}>${to}`)) continue;
        const l = this.nodes.get(to);
        if (l === undefined) continue;
        this.received.set(to, (this.received.get(to) ?? 0) + 1);
        for (const r of l.received({ link: LINK, from: src, fromMac: macOf(src), msg: s.msg }, this.now)) queue.push([to, r]);
      }
    }
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
});
