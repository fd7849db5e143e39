/**
 * The agent core's rules (v2: liveness on the LAN) as stories, one named row
 * each. Three nodes a, b, c are candidates for one Service on eth0; `first`,
 * `second` and `third` are its candidates in rendezvous order. Every story
 * has all three cores, fed the same API (node Leases with MACs, so that
 * rings exist) and joined by a LAN that delivers frames at once unless a
 * node is cut off; the story's agent is `second` unless it says otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentCore, CONFLICT_READ_PATIENCE_MS, CONFLICT_REREAD_MS, DENIED_RETRY_MS, type Change, type CorePlan, type LeaseWrite, type NodeLeaseFacts } from '../../../../src/core/l2/agent-core.js';
import { DEFAULT_COORDINATION, failoverBoundMs } from '../../../../src/core/l2/coordination-settings.js';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import type { MarkWrite } from '../../../../src/core/l2/lan-liveness.js';
import type { LanSend } from '../../../../src/core/l2/lan-messages.js';
import { planNode, type ServicePlan } from '../../../../src/core/l2/node-plan.js';
import { CandidateRanker, rankCandidates } from '../../../../src/core/l2/rendezvous.js';
import { selectL2, type L2Selection, type L2ServiceView } from '../../../../src/core/l2/selection.js';

const S = DEFAULT_COORDINATION;
const LINK = 'eth0';
const SVC = 'default/web';
const VIP = '192.0.2.10';
const NODES = ['a', 'b', 'c'];
const [first = '', second = '', third = ''] = rankCandidates(SVC, NODES);
const macOf = (n: string): string => `02:00:00:00:00:${n.charCodeAt(0).toString(16).padStart(2, '0')}`;

const policies = [compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth0$'] })];
const webService: L2ServiceView = { namespace: 'default', name: 'web', type: 'LoadBalancer', ingressIPs: [VIP] };

/** Selections by the nodes that have eth0 up, one object per set (so that an unchanged view plans incrementally). */
function selectionCache(services: readonly L2ServiceView[]): (up: readonly string[]) => L2Selection {
  const cache = new Map<string, L2Selection>();
  return (up) => {
    const key = [...up].sort().join(',');
    let sel = cache.get(key);
    if (sel === undefined) {
      sel = selectL2({ policies, services, nodes: [...up].sort().map((name) => ({ name, labels: {}, upLinks: [LINK] })), endpoints: new Map(), poolRanges: [] });
      cache.set(key, sel);
    }
    return sel;
  };
}

/** The selection as an agent would build it: other nodes' links from upLinksOf, its own from selfUpLinks. */
function selectionOf(core: AgentCore, nodes: readonly string[], now: number, select: (up: readonly string[]) => L2Selection): L2Selection {
  const up = nodes.filter((n) => (n === core.self ? core.selfUpLinks([LINK], now) : core.upLinksOf(n)).includes(LINK));
  return select(up);
}

const nodeFacts = (node: string, rv: number, over: Partial<NodeLeaseFacts> = {}): NodeLeaseFacts => ({
  holder: node, rv: String(rv), upLinks: [LINK], macs: { [LINK]: macOf(node) }, unreachable: [], ...over,
});

/** Three agents, the API they watch and the LAN between them. */
class World {
  readonly cores = new Map<string, AgentCore>();
  /** The node Leases as the API holds them. */
  readonly nodeLeases = new Map<string, NodeLeaseFacts>();
  /** Nodes cut off the LAN (no carrier change): they hear nobody and nobody hears them. */
  readonly cut = new Set<string>();
  /** Mark writes the cores asked for, in order. */
  readonly marks: Array<MarkWrite & { by: string; at: number }> = [];
  /** Every LAN output's change that was not 'none': who, when, what. */
  readonly lanChanges: Array<{ node: string; at: number; change: Change }> = [];
  /** Whether the API delivers: when false (a pause), nothing is written or watched. */
  apiUp = true;
  now = 0;
  private rv = 100;
  private readonly select = selectionCache([webService]);

  constructor(readonly self: string) {
    for (const n of NODES) this.cores.set(n, new AgentCore({ self: n, settings: S }));
    for (const n of NODES) this.setNode(n, {});
  }

  get core(): AgentCore { return this.of(this.self); }

  of(node: string): AgentCore {
    const c = this.cores.get(node);
    assert.ok(c, node);
    return c;
  }

  nextRv(): string { return String(++this.rv); }

  /** Writes a node Lease (a patch of the current one) and delivers it to every core; the changes they report. */
  setNode(node: string, patch: Partial<NodeLeaseFacts>): Map<string, Change> {
    const facts = nodeFacts(node, ++this.rv, { ...this.nodeLeases.get(node), ...patch, rv: String(this.rv) });
    this.nodeLeases.set(node, facts);
    const out = new Map<string, Change>();
    for (const [n, c] of this.cores) out.set(n, c.nodeLease(node, facts));
    return out;
  }

  /** The Service Lease names `holder`, as the watch delivers it to every core; its rv. */
  holder(holder: string): string {
    const rv = this.nextRv();
    for (const c of this.cores.values()) c.serviceLease(SVC, { holder, rv });
    return rv;
  }

  plan(node = this.self): CorePlan {
    const core = this.of(node);
    return core.plan(selectionOf(core, NODES, this.now, this.select), this.now);
  }

  answering(node = this.self): boolean {
    return this.plan(node).plans.find((p) => p.service === SVC)?.decision.answer ?? false;
  }

  /** Delivers frames (and the answers they cause) at once, except to or from a node that is cut off. */
  deliver(from: string, sends: readonly LanSend[]): void {
    const queue: Array<[string, LanSend]> = sends.map((s) => [from, s]);
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const [src, s] = item;
      if (this.cut.has(src)) continue;
      const targets = s.to === '*' ? NODES.filter((n) => n !== src) : [s.to];
      for (const to of targets) {
        if (this.cut.has(to)) continue;
        const out = this.of(to).lanReceived({ link: s.link, from: src, fromMac: macOf(src), msg: s.msg }, this.now);
        if (out.change !== 'none') this.lanChanges.push({ node: to, at: this.now, change: out.change });
        this.applyMarks(to, out.marks);
        for (const r of out.sends) queue.push([to, r]);
      }
    }
  }

  private applyMarks(by: string, marks: readonly MarkWrite[]): void {
    for (const m of marks) {
      this.marks.push({ ...m, by, at: this.now });
      if (!this.apiUp) continue;
      const before = this.nodeLeases.get(m.node)?.unreachable ?? [];
      const unreachable = m.action === 'mark' ? [...new Set([...before, m.link])].sort() : before.filter((l) => l !== m.link);
      this.setNode(m.node, { unreachable });
      this.of(by).lan.markWriteFinished(m);
    }
  }

  /** Runs the LAN for `ms`: every core ticks every hello interval. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += S.helloIntervalMs;
      for (const [n, c] of this.cores) {
        const out = c.lanTick(this.now);
        if (out.change !== 'none') this.lanChanges.push({ node: n, at: this.now, change: out.change });
        this.applyMarks(n, out.marks);
        this.deliver(n, out.sends);
      }
    }
  }

  /** Runs until `pred` holds; the time it took (Infinity past the limit). */
  until(pred: () => boolean, limitMs: number): number {
    const start = this.now;
    while (!pred()) {
      if (this.now - start > limitMs) return Infinity;
      this.run(S.helloIntervalMs);
    }
    return this.now - start;
  }
}

interface Story {
  readonly name: string;
  readonly self?: string;
  readonly run: (w: World) => void;
}

const stories: Story[] = [
  {
    name: 'a holder marked unreachable in its node Lease is no longer a candidate: the best-ranked other candidate claims, with the observed version',
    self: second,
    run: (w) => {
      w.run(1000);
      const rv = w.holder(first);
      assert.deepEqual(w.plan().writes, [], `${first} holds and is healthy`);
      assert.deepEqual(w.plan(third).writes, []);
      const changes = w.setNode(first, { unreachable: [LINK] });
      assert.equal(changes.get(second), 'selection');
      assert.deepEqual(w.core.upLinksOf(first), []);
      const [claim, ...more] = w.plan().writes;
      assert.deepEqual(more, []);
      assert.deepEqual(claim, {
        service: SVC, action: 'claim', holder: second, expectedRv: rv, previousHolder: first,
        reason: claim?.reason,
      });
      assert.match(claim.reason, /no longer a candidate/);
      assert.deepEqual(w.plan(third).writes, [], `${third} waits for ${second}`);
    },
  },
  {
    name: 'a node Lease with an empty holder is a node that left: its successor claims',
    self: second,
    run: (w) => {
      const rv = w.holder(first);
      assert.deepEqual(w.plan().writes, []);
      assert.equal(w.setNode(first, { holder: '' }).get(second), 'plan');
      assert.equal(w.core.live().has(first), false);
      assert.deepEqual(w.core.upLinksOf(first), []);
      const [claim] = w.plan().writes;
      assert.equal(claim?.action, 'claim');
      assert.equal(claim.holder, second);
      assert.equal(claim.expectedRv, rv);
      assert.equal(claim.previousHolder, first);
      assert.deepEqual(w.plan(third).writes, []);
    },
  },
  {
    name: 'a holder cut off the LAN is condemned by its monitors within the failover bound, marked, and its successor claims; the holder goes deaf and hands over',
    self: second,
    run: (w) => {
      w.run(1000);
      const rv = w.holder(first);
      assert.equal(w.answering(first), true);
      w.cut.add(first);
      const cutAt = w.now;
      const took = w.until(() => !w.core.upLinksOf(first).includes(LINK), 5000);
      assert.ok(took <= failoverBoundMs(S, 0), `condemned after ${took} ms`);
      assert.ok(w.marks.some((m) => m.node === first && m.action === 'mark' && m.link === LINK), 'a monitor asked for the mark');
      assert.deepEqual(w.nodeLeases.get(first)?.unreachable, [LINK]);
      const [claim] = w.plan().writes;
      assert.equal(claim?.holder, second);
      assert.equal(claim.expectedRv, rv);
      // The cut holder hears nobody: deaf after suspect-after + confirm timeout, so it stops answering without the API.
      w.until(() => w.of(first).lan.deaf(w.now).length > 0, 5000);
      assert.ok(w.now - cutAt <= S.suspectAfterMs + S.confirmTimeoutMs + S.helloIntervalMs, `deaf ${w.now - cutAt} ms after the cut`);
      assert.deepEqual(w.of(first).selfUpLinks([LINK], w.now), []);
      // No longer a candidate in its own view: it hands over, answering what it answered until a new holder is written.
      const own = w.plan(first);
      assert.deepEqual(own.writes.map((x) => [x.action, x.holder]), [['handover', second]]);
      w.holder(second);
      assert.equal(w.answering(first), false);
      assert.equal(w.answering(), true);
    },
  },
  {
    name: 'a claim the admission policy refused (the mark not in the API yet) is not made again until the holder\'s node Lease changes, or DENIED_RETRY_MS passes',
    self: second,
    run: (w) => {
      w.run(1000);
      const rv = w.holder(first);
      // The monitors' mark writes do not land: the API does not show the verdict.
      w.apiUp = false;
      w.cut.add(first);
      w.until(() => !w.core.upLinksOf(first).includes(LINK), 5000);
      assert.deepEqual(w.nodeLeases.get(first)?.unreachable, []);
      const [claim] = w.plan().writes;
      assert.equal(claim?.holder, second);
      assert.equal(claim.previousHolder, first);
      assert.equal(w.core.writeFinished(claim, { result: 'denied', message: 'held by a live node' }), 'plan');
      assert.equal(w.core.apiReachable(), true, 'a refusal is an answer');
      const waiting = w.plan();
      assert.deepEqual(waiting.writes, []);
      assert.match(waiting.plans.find((p) => p.service === SVC)?.decision.reason ?? '', /admission policy refused our claim/);
      w.run(DENIED_RETRY_MS / 2);
      assert.deepEqual(w.plan().writes, [], 'not again before DENIED_RETRY_MS');
      // The mark lands: claimed again at once.
      w.apiUp = true;
      assert.notEqual(w.setNode(first, { unreachable: [LINK] }).get(second), 'none');
      const [again] = w.plan().writes;
      assert.equal(again?.holder, second);
      assert.equal(again.expectedRv, rv);
      // Refused again (the apiserver's policy has not seen the mark yet): again after DENIED_RETRY_MS with no other news.
      w.core.writeFinished(again, { result: 'denied', message: 'held by a live node' });
      assert.deepEqual(w.plan().writes, []);
      let last: LeaseWrite | undefined;
      const took = w.until(() => (last = w.plan().writes[0]) !== undefined, 5 * DENIED_RETRY_MS);
      assert.ok(took >= DENIED_RETRY_MS && took <= DENIED_RETRY_MS + 2 * S.helloIntervalMs, `claimed again after ${took} ms`);
      // Refused over and over with no news of the holder (it cannot hand over, nobody may take it): the wait doubles.
      assert.ok(last);
      w.core.writeFinished(last, { result: 'denied', message: 'held by a live node' });
      const next = w.until(() => (last = w.plan().writes[0]) !== undefined, 10 * DENIED_RETRY_MS);
      assert.ok(next >= 2 * DENIED_RETRY_MS && next <= 2 * DENIED_RETRY_MS + 2 * S.helloIntervalMs, `the third claim after ${next} ms`);
    },
  },
  {
    name: 'an apiserver pause changes nothing: 30 s with no API observation (the LAN healthy) plans the same, with no writes or reads',
    self: first,
    run: (w) => {
      w.run(1000);
      w.holder(third);
      const before = w.plan();
      const others = [w.plan(second), w.plan(third)];
      assert.deepEqual(before.writes, []);
      w.apiUp = false;
      const since = w.now;
      w.run(30_000);
      assert.deepEqual(w.marks, [], 'nobody asks for a mark');
      assert.deepEqual(w.lanChanges.filter((c) => c.at > since), [], 'the LAN view did not change either');
      // Nothing in v2 expires with time: planning long after the last API observation decides as before.
      for (const [node, p] of [[first, before], [second, others[0]], [third, others[1]]] as const) {
        const after = w.plan(node);
        assert.deepEqual(after.writes, [], `${node} writes nothing`);
        assert.deepEqual(after.reads, [], `${node} reads nothing`);
        assert.deepEqual(after.plans.map((x) => x.decision), p?.plans.map((x) => x.decision));
      }
      assert.equal(w.answering(third), true);
    },
  },
  {
    name: 'planning much later, with no new observation at all, writes nothing (no time-based expiry)',
    self: first,
    run: (w) => {
      w.holder(third);
      const p1 = w.plan();
      w.now += 3_600_000;
      const p2 = w.plan();
      assert.deepEqual(p2.writes, []);
      assert.deepEqual(p2.plans.map((p) => p.decision), p1.plans.map((p) => p.decision));
    },
  },
  {
    name: 'stickiness: a healthy holder keeps the Service although another node ranks higher',
    self: first,
    run: (w) => {
      w.run(1000);
      w.holder(third);
      assert.deepEqual(w.plan().writes, []);
      assert.equal(w.answering(), false);
      assert.equal(w.answering(third), true);
    },
  },
  {
    name: 'the first claim creates the Lease (no expected version); one write per Service at a time; an error lets the next plan retry',
    self: first,
    run: (w) => {
      const [claim] = w.plan().writes;
      assert.equal(claim?.action, 'claim');
      assert.equal(claim.expectedRv, undefined, 'create');
      assert.equal(claim.previousHolder, '');
      assert.equal(w.core.inflightWrites, 1);
      w.setNode(second, { upLinks: [LINK, 'eth1'] }); // any change: a full re-plan
      assert.deepEqual(w.plan().writes, [], 'one write in flight per Service');
      assert.equal(w.core.writeFinished(claim, { result: 'error', message: 'timeout' }), 'plan');
      assert.equal(w.core.apiReachable(), false);
      const [retry] = w.plan().writes;
      assert.equal(retry?.action, 'claim');
      assert.equal(retry.expectedRv, undefined);
    },
  },
  {
    name: 'a successful write is answered; a Lease version older than one we saw is ignored',
    self: first,
    run: (w) => {
      const [claim] = w.plan().writes;
      assert.ok(claim);
      w.core.writeFinished(claim, { result: 'ok', lease: { holder: first, rv: '5000' } });
      assert.equal(w.answering(), true);
      assert.equal(w.core.leaseVersion(SVC), '5000');
      assert.equal(w.core.serviceLease(SVC, { holder: '', rv: '4990' }), 'none', 'a late watch event from before our write');
      assert.equal(w.core.serviceLease(SVC, { holder: second, rv: '5000' }), 'none', 'the same version again');
      assert.equal(w.core.holderOf(SVC), first);
      assert.equal(w.answering(), true);
      assert.deepEqual(w.plan().writes, []);
    },
  },
  {
    name: 'a node Lease older than one we saw is ignored',
    self: first,
    run: (w) => {
      w.core.nodeLease(second, nodeFacts(second, 9000, { unreachable: [LINK] }));
      assert.deepEqual(w.core.upLinksOf(second), []);
      assert.equal(w.core.nodeLease(second, nodeFacts(second, 8999)), 'none');
      assert.deepEqual(w.core.upLinksOf(second), []);
      assert.equal(w.core.nodeLease(second, nodeFacts(second, 9001)), 'selection');
      assert.deepEqual(w.core.upLinksOf(second), [LINK]);
    },
  },
  {
    name: 'what a node Lease changes: nothing (same facts), the selection (links, MACs, marks, a new node) or the plan (left or back)',
    self: first,
    run: (w) => {
      assert.equal(w.setNode(second, {}).get(first), 'none');
      assert.equal(w.setNode(second, { upLinks: [LINK, 'eth1'] }).get(first), 'selection');
      assert.deepEqual(w.core.upLinksOf(second), [LINK, 'eth1']);
      assert.equal(w.setNode(second, { macs: { [LINK]: '02:00:00:00:00:99' } }).get(first), 'selection');
      assert.equal(w.setNode(second, { unreachable: ['eth1'] }).get(first), 'selection');
      assert.deepEqual(w.core.upLinksOf(second), [LINK]);
      assert.equal(w.setNode(second, { holder: '' }).get(first), 'plan');
      assert.equal(w.setNode(second, { holder: second }).get(first), 'plan');
      assert.equal(w.core.nodeLease('d', nodeFacts('d', 9999)), 'selection');
      assert.equal(w.core.nodeLease('d', undefined), 'selection');
      assert.equal(w.core.nodeLease('d', undefined), 'none');
      assert.deepEqual(w.core.upLinksOf('d'), []);
    },
  },
  {
    name: 'a wire conflict asks for a Lease read and keeps answering until the read fails, then silences that address',
    self: first,
    run: (w) => {
      w.holder(first);
      assert.equal(w.answering(), true);
      assert.equal(w.core.conflict('192.0.2.99', 10), 'none', 'not an address we answer');
      assert.equal(w.core.conflict(VIP, 10), 'plan');
      assert.equal(w.core.conflict(VIP, 11), 'none', 'already being settled');
      const p = w.plan();
      assert.deepEqual(p.reads, [SVC]);
      assert.deepEqual(p.writes, []);
      assert.equal(p.plans.find((x) => x.service === SVC)?.decision.answer, true, 'answers while the read is out');
      assert.deepEqual(w.plan().reads, [], 'one read at a time');
      assert.equal(w.answering(), true);
      assert.equal(w.core.leaseRead(SVC, { result: 'error', message: 'timeout' }), 'plan');
      const silenced = w.plan().plans.find((x) => x.service === SVC);
      assert.equal(silenced?.decision.answer, false, 'the wire is the only sign of a successor');
      assert.deepEqual(silenced.answer, []);
      assert.match(silenced.decision.reason, /stopped answering 192\.0\.2\.10/);
      assert.deepEqual(w.plan().writes, [], 'it still holds the Lease: no write');
    },
  },
  {
    name: 'a wire conflict settled by a read that shows us still holding: the conflict is cleared and we keep answering',
    self: first,
    run: (w) => {
      const rv = Number(w.holder(first));
      assert.equal(w.answering(), true);
      w.core.conflict(VIP, 10);
      assert.deepEqual(w.plan().reads, [SVC]);
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: first, rv: String(rv) } });
      assert.equal(w.answering(), true);
      assert.deepEqual(w.core.status(w.now).conflicted, []);
      // Cleared, so a later failed API request alone silences nothing.
      w.core.apiState(false);
      assert.equal(w.answering(), true);
      assert.equal(w.core.conflict(VIP, 20), 'plan', 'a new conflict asks again');
      assert.deepEqual(w.plan().reads, [SVC]);
    },
  },
  {
    name: 'a wire conflict settled by a read that names another holder: we stop answering and write nothing',
    self: first,
    run: (w) => {
      w.holder(first);
      assert.equal(w.answering(), true);
      w.core.conflict(VIP, 10);
      assert.deepEqual(w.plan().reads, [SVC]);
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: second, rv: w.nextRv() } });
      assert.equal(w.core.holderOf(SVC), second);
      assert.equal(w.answering(), false);
      assert.deepEqual(w.plan().writes, []);
    },
  },
  {
    name: 'after a failed read silenced an address, the API coming back lets us answer it again, and a new wire conflict on it asks for a read again',
    self: first,
    run: (w) => {
      const rv = w.holder(first);
      assert.equal(w.answering(), true);
      w.core.conflict(VIP, 10);
      assert.deepEqual(w.plan().reads, [SVC]);
      w.core.leaseRead(SVC, { result: 'error', message: 'refused' });
      assert.equal(w.answering(), false);
      assert.equal(w.core.apiState(true), 'plan');
      assert.equal(w.answering(), true, 'with the API back, the Lease (ours) is the truth');
      // Another MAC announces the address again: the rule is to read the Lease, whatever happened before.
      assert.equal(w.core.conflict(VIP, 20), 'plan', 'a new conflict on a once-silenced address is not ignored');
      assert.deepEqual(w.plan().reads, [SVC], 'the Service is read again');
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: first, rv } });
      assert.deepEqual(w.core.status(w.now).conflicted, []);
      assert.equal(w.answering(), true);
    },
  },
  {
    name: 'after a failed read silenced an address, the Lease is read again every CONFLICT_REREAD_MS, with no other sign that the API is back (a stalled watch, no new conflict)',
    self: first,
    run: (w) => {
      const rv = w.holder(first);
      assert.equal(w.answering(), true);
      assert.equal(w.core.conflict(VIP, w.now), 'plan');
      assert.deepEqual(w.plan().reads, [SVC]);
      w.core.leaseRead(SVC, { result: 'error', message: 'timeout' });
      assert.equal(w.answering(), false);
      assert.deepEqual(w.plan().reads, [], 'not at once');
      const start = w.now;
      let asked = -1;
      while (asked < 0 && w.now - start <= 3 * CONFLICT_REREAD_MS) {
        w.run(S.helloIntervalMs);
        if (w.plan().reads.includes(SVC)) asked = w.now - start;
      }
      assert.ok(asked >= CONFLICT_REREAD_MS && asked <= CONFLICT_REREAD_MS + S.helloIntervalMs, `read again after ${asked} ms`);
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: first, rv } });
      assert.equal(w.answering(), true, 'the Lease names us: we answer again');
      assert.deepEqual(w.core.status(w.now).conflicted, []);
      w.run(3 * CONFLICT_REREAD_MS);
      assert.deepEqual(w.plan().reads, [], 'settled: no more reads');
    },
  },
  {
    name: 'a lost write (409) asks for a read; the read shows the winner, who is followed without another write',
    self: first,
    run: (w) => {
      const [claim] = w.plan().writes;
      assert.ok(claim);
      assert.equal(w.core.writeFinished(claim, { result: 'lost' }), 'plan');
      const p = w.plan();
      assert.deepEqual(p.reads, [SVC]);
      assert.deepEqual(w.plan().reads, [], 'asked once');
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: second, rv: w.nextRv() } });
      assert.equal(w.core.holderOf(SVC), second);
      assert.deepEqual(w.plan().writes, []);
      assert.equal(w.answering(), false);
    },
  },
  {
    name: 'leave(): the holder hands over to the best-ranked other live node, with the observed version, and answers until it is written',
    self: first,
    run: (w) => {
      const rv = w.holder(first);
      assert.equal(w.core.leave('shutting down'), 'plan');
      assert.equal(w.core.leaving, 'shutting down');
      const p = w.plan();
      assert.deepEqual(p.writes.map((x) => [x.action, x.holder, x.expectedRv, x.previousHolder]), [['handover', second, rv, first]]);
      assert.equal(p.plans.find((x) => x.service === SVC)?.decision.answer, true);
      const handover = p.writes[0] as LeaseWrite;
      w.core.writeFinished(handover, { result: 'ok', lease: { holder: second, rv: w.nextRv() } });
      assert.equal(w.answering(), false);
      assert.deepEqual(w.plan().writes, []);
    },
  },
  {
    name: 'leave(): a node that left is skipped as a successor; with no other live node the Lease is released',
    self: first,
    run: (w) => {
      w.holder(first);
      w.setNode(second, { holder: '' });
      w.core.leave('draining');
      assert.deepEqual(w.plan().writes.map((x) => [x.action, x.holder]), [['handover', third]]);
      const w2 = new World(first);
      w2.holder(first);
      w2.setNode(second, { holder: '' });
      w2.setNode(third, { holder: '' });
      w2.core.leave('draining');
      assert.deepEqual(w2.plan().writes.map((x) => [x.action, x.holder]), [['release', '']]);
    },
  },
  {
    name: 'a leaving node does not claim',
    self: first,
    run: (w) => {
      w.core.leave('shutting down');
      assert.deepEqual(w.plan().writes, []);
      assert.match(w.plan().plans.find((p) => p.service === SVC)?.decision.reason ?? '', /not claiming while leaving/);
    },
  },
  {
    name: 'selfUpLinks drops a link we are deaf on (cut off, hearing nobody for suspect-after + confirm timeout) and takes it back once we hear again',
    self: second,
    run: (w) => {
      w.apiUp = false; // keep the others' marks out of the picture: deafness is our own judgement
      w.run(1000);
      assert.deepEqual(w.core.selfUpLinks([LINK, 'eth1'], w.now), [LINK, 'eth1']);
      w.cut.add(second);
      const cutAt = w.now;
      const deafAfter = w.until(() => w.core.selfUpLinks([LINK], w.now).length === 0, 2000);
      assert.ok(deafAfter >= S.suspectAfterMs + S.confirmTimeoutMs - S.helloIntervalMs, `not before the silence is long enough (${deafAfter} ms)`);
      assert.ok(deafAfter <= S.suspectAfterMs + S.confirmTimeoutMs + S.helloIntervalMs, `deaf after ${deafAfter} ms`);
      assert.ok(w.lanChanges.some((c) => c.node === second && c.at > cutAt && c.change === 'selection'), 'going deaf asks for a new selection');
      assert.deepEqual(w.core.selfUpLinks([LINK, 'eth1'], w.now), ['eth1'], 'only the link we are deaf on');
      assert.equal(w.answering(), false);
      w.cut.delete(second);
      w.run(2 * S.helloIntervalMs);
      assert.deepEqual(w.core.selfUpLinks([LINK], w.now), [LINK]);
    },
  },
  {
    name: 'selfUpLinks drops a link our own node Lease marks unreachable, though we hear the LAN',
    self: second,
    run: (w) => {
      w.run(500);
      assert.deepEqual(w.core.selfUpLinks([LINK], w.now), [LINK]);
      assert.equal(w.setNode(second, { unreachable: [LINK] }).get(second), 'selection');
      assert.deepEqual(w.core.lan.deaf(w.now), []);
      assert.deepEqual(w.core.selfUpLinks([LINK, 'eth1'], w.now), ['eth1']);
      w.holder(second);
      const p = w.plan();
      assert.equal(p.writes[0]?.action, 'handover', 'a marked holder hands over');
    },
  },
  {
    name: 'a ring of two never goes deaf: with one other node, its silence is as likely its fault as ours',
    self: first,
    run: (w) => {
      w.apiUp = false; // the other node condemns us on silence (a ring of two): keep its mark out of our own view
      w.setNode(third, { holder: '' });
      w.run(500);
      w.cut.add(first);
      w.run(2000);
      assert.deepEqual(w.core.lan.deaf(w.now), []);
      assert.deepEqual(w.core.selfUpLinks([LINK], w.now), [LINK]);
    },
  },
  {
    name: 'a "down" broadcast heard on the LAN counts before the API shows the mark',
    self: second,
    run: (w) => {
      w.apiUp = false;
      w.run(1000);
      w.holder(first);
      w.cut.add(first);
      w.until(() => !w.core.upLinksOf(first).includes(LINK), 2000);
      assert.deepEqual(w.nodeLeases.get(first)?.unreachable, [], 'the API did not get the mark');
      assert.deepEqual(w.core.lan.unreachable(first), [LINK]);
      assert.equal(w.plan().writes[0]?.action, 'claim');
    },
  },
  {
    name: 'a wire conflict whose read the API does not answer (blackholed) silences the address after CONFLICT_READ_PATIENCE_MS; the late answer naming us brings it back',
    self: first,
    run: (w) => {
      const rv = w.holder(first);
      w.run(500);
      assert.equal(w.answering(), true);
      assert.equal(w.core.conflict(VIP, w.now), 'plan');
      assert.deepEqual(w.plan().reads, [SVC]);
      const start = w.now;
      const silentAfter = w.until(() => !w.answering(), 3 * CONFLICT_READ_PATIENCE_MS);
      assert.ok(silentAfter >= CONFLICT_READ_PATIENCE_MS && silentAfter <= CONFLICT_READ_PATIENCE_MS + S.helloIntervalMs, `silent after ${silentAfter} ms`);
      assert.equal(w.core.apiReachable(), false, 'an unanswered read counts as a failed one');
      assert.deepEqual(w.plan().reads, [], 'the read is still out: not asked twice');
      assert.ok(w.now - start < 2000);
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: first, rv } });
      assert.equal(w.answering(), true, 'the Lease names us');
      assert.deepEqual(w.core.status(w.now).conflicted, []);
    },
  },
  {
    name: 'no claim from a Lease version that a read showed and the watch has not delivered: our node Lease view may be as old (seed 2111: a holder that came back while our watch was re-listing)',
    self: second,
    run: (w) => {
      w.holder(third);
      // Our watch broke while first's link was down; first came back and claimed since, which the watch has not shown us.
      w.core.nodeLease(first, nodeFacts(first, 150, { upLinks: [] }));
      assert.deepEqual(w.plan().writes, [], `${third} holds and is a candidate`);
      const rv = w.nextRv();
      assert.equal(w.core.leaseRead(SVC, { result: 'ok', lease: { holder: first, rv } }), 'plan');
      assert.equal(w.core.holderOf(SVC), first);
      const held = w.plan();
      assert.deepEqual(held.writes, [], 'no claim on the strength of a stale node Lease');
      assert.match(held.plans.find((x) => x.service === SVC)?.decision.reason ?? '', /not claiming until the watch delivers/);
      // A watch that delivers an older version has not caught up yet.
      assert.equal(w.core.serviceLease(SVC, { holder: third, rv: String(Number(rv) - 1) }), 'none');
      assert.deepEqual(w.plan().writes, []);
      // Once the watch delivers it (and first's node Lease still shows its link down), the claim is made.
      assert.equal(w.core.serviceLease(SVC, { holder: first, rv }), 'plan');
      const [claim] = w.plan().writes;
      assert.equal(claim?.action, 'claim');
      assert.equal(claim.expectedRv, rv);
    },
  },
  {
    name: 'a holder back on the LAN after long enough off it to be condemned reads the Leases it holds, again every CONFLICT_REREAD_MS while the read fails, and stops if another node holds them (seed 2280)',
    self: first,
    run: (w) => {
      w.holder(first);
      w.run(1000);
      assert.equal(w.answering(), true);
      assert.deepEqual(w.plan().reads, []);
      w.cut.add(first);
      w.run(S.suspectAfterMs + S.confirmTimeoutMs + 500);
      assert.deepEqual(w.plan().reads, [], 'nothing to read while still off the LAN');
      w.cut.delete(first);
      w.run(2 * S.helloIntervalMs);
      assert.deepEqual(w.plan().reads, [SVC], 'back: the Lease we hold is read afresh');
      w.core.leaseRead(SVC, { result: 'error', message: 'timeout' });
      const start = w.now;
      let asked = -1;
      while (asked < 0 && w.now - start <= 3 * CONFLICT_REREAD_MS) {
        w.run(S.helloIntervalMs);
        if (w.plan().reads.includes(SVC)) asked = w.now - start;
      }
      assert.ok(asked >= CONFLICT_REREAD_MS && asked <= CONFLICT_REREAD_MS + 2 * S.helloIntervalMs, `read again after ${asked} ms`);
      w.core.leaseRead(SVC, { result: 'ok', lease: { holder: second, rv: w.nextRv() } });
      assert.equal(w.core.holderOf(SVC), second);
      assert.equal(w.answering(), false);
      w.run(3 * CONFLICT_REREAD_MS);
      assert.deepEqual(w.plan().reads, [], 'settled: no more reads');
    },
  },
];

/** The agent on `node` restarts in place: pause frames out, then its process is gone (cut: it sends and hears nothing). */
function restartInPlace(w: World, node: string, graceMs: number): void {
  w.deliver(node, w.of(node).restartInPlace(graceMs));
  w.cut.add(node);
}

/** A new agent on `node`: a fresh core, fed the node and Service Leases as its first list shows them. */
function newAgent(w: World, node: string, holder: string, rv: string): AgentCore {
  const core = new AgentCore({ self: node, settings: S });
  for (const [n, f] of w.nodeLeases) core.nodeLease(n, f);
  core.serviceLease(SVC, { holder, rv });
  w.cores.set(node, core);
  w.cut.delete(node);
  return core;
}

describe('AgentCore: restart in place', () => {
  it('the lowest-ranked holder restarts in place: nobody claims while it is away, and the new agent keeps the Service (no write) although another node ranks higher', () => {
    const w = new World(third);
    w.run(1000);
    const rv = w.holder(third);
    assert.equal(w.answering(third), true);
    assert.deepEqual(w.plan(third).writes, []);
    restartInPlace(w, third, 10_000);
    for (let t = 0; t < 3000; t += 100) {
      w.run(100);
      for (const n of [first, second]) assert.deepEqual(w.plan(n).writes, [], `${n} wrote at ${w.now}`);
    }
    assert.deepEqual(w.marks, [], 'nobody marked the restarting node');
    const core = newAgent(w, third, third, rv);
    const p = w.plan(third);
    assert.deepEqual(p.writes, [], 'the new agent keeps its Service');
    assert.equal(p.plans.find((x) => x.service === SVC)?.decision.answer, true);
    w.run(1000);
    assert.deepEqual(w.plan(third).writes, []);
    assert.equal(core.holderOf(SVC), third);
    for (const n of [first, second]) assert.deepEqual(w.of(n).status(w.now).lan.paused, [], `${n}: its hellos ended the pause`);
    assert.deepEqual(w.marks, []);
  });

  it('an agent restarting in place keeps answering and writes nothing until it exits', () => {
    const w = new World(first);
    w.run(500);
    w.holder(first);
    w.deliver(first, w.core.restartInPlace(5000));
    assert.equal(w.core.restarting, true);
    const p = w.plan();
    assert.deepEqual(p.writes, []);
    assert.equal(p.plans.find((x) => x.service === SVC)?.decision.answer, true);
  });

  it('a restart that never comes back: the Service moves after the grace, within grace + the failover bound', () => {
    const w = new World(second);
    w.run(1000);
    w.holder(first);
    const graceMs = 2000;
    restartInPlace(w, first, graceMs);
    const start = w.now;
    let claimedAt = Infinity;
    while (w.now - start < graceMs + 2000 && claimedAt === Infinity) {
      w.run(S.helloIntervalMs);
      const writes = [second, third].flatMap((n) => w.plan(n).writes);
      if (writes.some((x) => x.action === 'claim')) claimedAt = w.now - start;
    }
    assert.ok(claimedAt >= graceMs + S.suspectAfterMs, `claimed ${claimedAt} ms after the SIGTERM`);
    assert.ok(claimedAt <= graceMs + failoverBoundMs(S, 0) + S.helloIntervalMs, `claimed ${claimedAt} ms after the SIGTERM`);
  });
});

describe('AgentCore stories', () => {
  for (const story of stories) {
    it(story.name, () => { story.run(new World(story.self ?? second)); });
  }
});

describe('AgentCore incremental planning', () => {
  it('re-deciding only what changed gives the same decisions as planning everything (random Lease, mark, write, read and conflict histories)', () => {
    const services = Array.from({ length: 12 }, (_, i): L2ServiceView => ({ namespace: 'default', name: `s${i}`, type: 'LoadBalancer', ingressIPs: [`192.0.2.${20 + i}`] }));
    const keys = services.map((v) => `default/${v.name}`);
    const addressOf = new Map(services.map((v, i) => [v.ingressIPs?.[0] ?? '', keys[i] ?? '']));
    const select = selectionCache(services);
    let seed = 12345;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    let incrementalPlans = 0;
    for (let round = 0; round < 30; round++) {
      const core = new AgentCore({ self: 'a', settings: S });
      let rv = 1000;
      for (const n of NODES) core.nodeLease(n, nodeFacts(n, ++rv));
      const inflight: LeaseWrite[] = [];
      /** Our model of the failed conflicts: address → Service. */
      const conflicts = new Map<string, { service: string; failed: boolean }>();
      let lastSelection: L2Selection | undefined;
      for (let step = 0; step < 80; step++) {
        const op = rand(10);
        if (op === 0) {
          const node = NODES[rand(3)] ?? 'b';
          core.nodeLease(node, nodeFacts(node, ++rv, { holder: rand(5) === 0 ? '' : node, unreachable: rand(3) === 0 ? [LINK] : [] }));
        } else if (op <= 3) {
          core.serviceLease(keys[rand(12)] ?? '', { holder: ['a', 'b', 'c', ''][rand(4)] ?? '', rv: String(++rv) });
        } else if (op <= 5 && inflight.length > 0) {
          const w = inflight.splice(rand(inflight.length), 1)[0] as LeaseWrite;
          const r = rand(3);
          core.writeFinished(w, r === 0 ? { result: 'ok', lease: { holder: w.holder, rv: String(++rv) } } : r === 1 ? { result: 'lost' } : { result: 'error', message: 'timeout' });
        } else if (op === 6) {
          const answered = core.plans.flatMap((p) => p.answer.map((a) => a.address));
          const address = answered[rand(Math.max(1, answered.length))];
          if (address !== undefined && core.conflict(address, step) === 'plan') conflicts.set(address, { service: addressOf.get(address) ?? '', failed: false });
        } else if (op === 7) {
          const service = keys[rand(12)] ?? '';
          if (rand(2) === 0) {
            core.leaseRead(service, { result: 'error', message: 'timeout' });
            for (const c of conflicts.values()) if (c.service === service) c.failed = true;
          } else {
            core.leaseRead(service, { result: 'ok', lease: { holder: ['a', 'b', 'c'][rand(3)] ?? '', rv: String(++rv) } });
            for (const [addr, c] of conflicts) if (c.service === service) conflicts.delete(addr);
          }
        } else if (op === 8) {
          core.apiState(rand(2) === 0);
        } else if (step > 60 && core.leaving === undefined) {
          core.leave('shutting down');
        }
        const sel = selectionOf(core, NODES, step, select);
        if (sel === lastSelection) incrementalPlans++;
        lastSelection = sel;
        // What the core answered before this plan is what a full plan is given as `previous`.
        const previous = new Map(core.plans.filter((p) => p.answer.length > 0).map((p) => [p.service, p.answer]));
        const holders = new Map(keys.filter((k) => core.leaseVersion(k) !== undefined).map((k) => [k, core.holderOf(k)]));
        const full = planNode({
          self: 'a', selection: sel, holders, live: core.live(), apiReachable: core.apiReachable(),
          ...(core.leaving === undefined ? {} : { leaving: core.leaving }),
          conflicted: new Set([...conflicts].filter(([, c]) => c.failed).map(([a]) => a)), previous, ranker: new CandidateRanker(),
        });
        const out = core.plan(sel, 0);
        inflight.push(...out.writes);
        const view = (ps: readonly ServicePlan[]): string[] => ps.map((p) => JSON.stringify([
          p.service, p.decision.action, p.decision.target ?? '', p.decision.answer, p.decision.answerAddresses, p.answer.map((a) => a.address),
        ])).sort();
        assert.deepEqual(view(out.plans), view(full), `round ${round} step ${step}`);
        // Writes: only where the decision asks for one, at most one per Service in flight.
        const inflightServices = inflight.map((x) => x.service);
        assert.equal(new Set(inflightServices).size, inflightServices.length, `round ${round} step ${step}: one write per Service`);
        for (const w of out.writes) assert.notEqual(full.find((p) => p.service === w.service)?.decision.action ?? 'none', 'none');
      }
    }
    assert.ok(incrementalPlans > 500, `most plans were incremental (${incrementalPlans})`);
  });
});
