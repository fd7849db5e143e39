/**
 * The agent core's rules as stories, one named row each: a setting, what the
 * agent observes and when, and what it must decide. Three nodes a, b, c are
 * candidates for one Service; `first` and `second` are its best- and
 * second-ranked nodes (rendezvous order), and the story's agent is `second`
 * unless it says otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentCore, type Change, type CorePlan } from '../../../../src/core/l2/agent-core.js';
import { DEFAULT_COORDINATION } from '../../../../src/core/l2/coordination-settings.js';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import { selectL2 } from '../../../../src/core/l2/selection.js';
import { planNode } from '../../../../src/core/l2/node-plan.js';
import { CandidateRanker, rankCandidates } from '../../../../src/core/l2/rendezvous.js';

const SVC = 'default/web';
const VIP = '192.0.2.10';
const [first = '', second = '', third = ''] = rankCandidates(SVC, ['a', 'b', 'c']);
const selection = selectL2({
  policies: [compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth0$'] })],
  services: [{ namespace: 'default', name: 'web', type: 'LoadBalancer', ingressIPs: [VIP] }],
  nodes: ['a', 'b', 'c'].map((name) => ({ name, labels: {}, upLinks: ['eth0'] })),
  endpoints: new Map(), poolRanges: [],
});

/** One agent and the world around it, driven by the story. */
class World {
  readonly core: AgentCore;
  private rv = 100;
  private readonly lastRv = new Map<string, string>();
  constructor(readonly self: string) {
    this.core = new AgentCore({ self, settings: DEFAULT_COORDINATION });
  }
  /** A heartbeat renewal of `node` arrives on the watch at t. */
  beat(node: string, t: number, holder = node): Change {
    const rv = String(++this.rv);
    this.lastRv.set(node, rv);
    return this.core.heartbeat(node, { holder, rv, upLinks: ['eth0'] }, t);
  }
  /** Our own renewal: sent at t, answered after `rtt`, back on the watch after `lag` more (never if null). */
  renew(t: number, rtt = 2, lag: number | null = 1): void {
    this.core.renewalStarted(t);
    const rv = String(++this.rv);
    this.core.renewalSucceeded(rv, t + rtt);
    if (lag !== null) this.core.heartbeat(this.self, { holder: this.self, rv, upLinks: ['eth0'] }, t + rtt + lag);
  }
  /** Everyone (ourselves included) renews every 500 ms over [from, to). */
  steady(from: number, to: number, nodes: readonly string[] = ['a', 'b', 'c']): void {
    for (let t = from; t < to; t += 500) {
      for (const n of nodes) if (n === this.self) this.renew(t); else this.beat(n, t + 3);
    }
  }
  holder(node: string, t: number): void {
    this.core.serviceLease(SVC, { holder: node, rv: String(++this.rv) }, t);
  }
  plan(t: number): CorePlan { return this.core.plan(selection, t); }
  answering(t: number): boolean { return this.plan(t).plans.find((p) => p.service === SVC)?.decision.answer ?? false; }
}

interface Story {
  readonly name: string;
  readonly self?: string;
  readonly run: (w: World) => void;
}

const stories: Story[] = [
  {
    name: 'a crashed holder is claimed by the best-ranked live candidate, a whole expiry after its last renewal',
    self: second,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      w.steady(3000, 6000, [first, second]); // third crashed at 3000; its last renewal arrived at 2503
      assert.deepEqual(w.plan(3990).writes, [], 'not before the expiry');
      assert.deepEqual(w.plan(4010).writes, [], `${first} ranks first and claims, not ${second}`);
      const w2 = new World(first);
      w2.steady(0, 3000);
      w2.holder(third, 100);
      w2.steady(3000, 6000, [first, second]);
      assert.deepEqual(w2.plan(3990).writes, []);
      const [claim] = w2.plan(4010).writes;
      assert.equal(claim?.action, 'claim');
      assert.equal(claim.holder, first);
      assert.equal(claim.previousHolder, third);
      assert.deepEqual(w2.plan(4020).writes, [], 'one write in flight per Service');
    },
  },
  {
    name: 'defect 1: an apiserver pause of 30 s moves nothing, during it or after it',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      // From 3000 the apiserver is stopped: no heartbeat arrives, our renewal hangs.
      w.core.renewalStarted(3000);
      for (let t = 3000; t < 33_000; t += 100) assert.deepEqual(w.plan(t).writes, [], `no claim at ${t}`);
      // SIGCONT at 33000: our stalled renewal lands, the others' land around it, in any order.
      w.core.renewalSucceeded('900', 33_002);
      w.core.heartbeat(first, { holder: first, rv: '900', upLinks: ['eth0'] }, 33_003);
      assert.deepEqual(w.plan(33_004).writes, [], 'the others get a whole expiry from the moment our view is current again');
      w.beat(third, 33_010);
      w.beat(second, 33_011);
      w.steady(33_500, 40_000);
      assert.deepEqual(w.plan(40_000).writes, []);
      assert.equal(w.core.holderOf(SVC), third);
    },
  },
  {
    name: 'defect 1, clock-only evidence would have claimed: the same pause with our renewals landing claims after the expiry',
    self: first,
    run: (w) => {
      // The contrast that shows what the evidence floor buys: if our own renewals
      // do land (only the others are cut off), their silence is real evidence.
      w.steady(0, 3000);
      w.holder(third, 100);
      for (let t = 3000; t < 6000; t += 500) w.renew(t);
      assert.equal(w.plan(5000).writes[0]?.action, 'claim');
    },
  },
  {
    name: 'defect 2: our Lease watch stalls silently; no claim on its silence, and a restart is asked for at once',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      // From 3000 the watch delivers nothing, while our renewals keep succeeding.
      for (let t = 3000; t < 4000; t += 500) w.renew(t, 2, null);
      const p = w.plan(3600);
      assert.deepEqual(p.writes, []);
      assert.equal(p.restartLeaseWatch, true, 'stall noticed 500 ms after an unseen renewal');
      assert.equal(w.plan(3700).restartLeaseWatch, false, 'asked once per renewal');
      assert.deepEqual(w.plan(10_000).writes, [], 'still no claim while the watch is silent');
    },
  },
  {
    name: 'defect 2: once the restarted watch delivers again, a truly dead holder is claimed at once: the re-list proves its silence',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      for (let t = 3000; t < 4000; t += 500) w.renew(t, 2, null);
      assert.deepEqual(w.plan(3900).writes, [], 'nothing while the watch is quiet');
      // The re-list at 4100 shows our latest renewal and second's; third has not written since 2503.
      w.core.heartbeat(first, { holder: first, rv: '5000', upLinks: ['eth0'] }, 4100);
      w.beat(second, 4100);
      assert.equal(w.plan(4101).writes[0]?.action, 'claim');
    },
  },
  {
    name: 'a quiet watch never turns a live node dead: its silence is not proven while our renewals do not come back',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      // Our renewal at 3000 comes back at 3003; from then the watch is quiet; third keeps renewing (unseen).
      for (let t = 3500; t < 6000; t += 500) w.renew(t, 2, null);
      for (let t = 3000; t < 6000; t += 100) assert.deepEqual(w.plan(t).writes, [], `no claim at ${t}`);
      assert.equal(w.core.live(5900).has(third), true);
    },
  },
  {
    name: 'a renewal of a live node changes nothing and does not ask for a plan; a return from the dead does',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      assert.equal(w.beat(second, 2003), 'none');
      w.steady(2500, 6000, [first, third]);
      assert.equal(w.core.live(5000).has(second), false);
      assert.equal(w.beat(second, 5003), 'plan');
    },
  },
  {
    name: 'a heartbeat with new links, or a new node, changes the selection',
    self: first,
    run: (w) => {
      w.steady(0, 1000);
      assert.equal(w.core.heartbeat('d', { holder: 'd', rv: '7000', upLinks: ['eth0'] }, 1000), 'selection');
      assert.equal(w.core.heartbeat(second, { holder: second, rv: '7001', upLinks: ['eth0', 'eth1'] }, 1001), 'selection');
      assert.deepEqual(w.core.upLinksOf(second), ['eth0', 'eth1']);
    },
  },
  {
    name: 'stickiness: a live holder keeps the Service even though another node ranks higher',
    self: first,
    run: (w) => {
      w.steady(0, 5000);
      w.holder(third, 100);
      assert.deepEqual(w.plan(5000).writes, []);
      assert.equal(w.answering(5000), false);
    },
  },
  {
    name: 'the holder answers; a Lease older than our own write is ignored',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      const [claim] = w.plan(2000).writes;
      assert.ok(claim);
      w.core.writeFinished(claim, { result: 'ok', lease: { holder: first, rv: '5000' } }, 2005);
      assert.equal(w.answering(2006), true);
      w.core.serviceLease(SVC, { holder: '', rv: '4990' }, 2007); // a late watch event from before our write
      assert.equal(w.core.holderOf(SVC), first);
      assert.equal(w.answering(2008), true);
    },
  },
  {
    name: 'a lost race (409) frees the Service for the next plan, which follows the winner',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      const [claim] = w.plan(2000).writes;
      assert.ok(claim);
      w.core.writeFinished(claim, { result: 'lost' }, 2005);
      w.core.serviceLease(SVC, { holder: second, rv: '6000' }, 2006);
      const p = w.plan(2007);
      assert.deepEqual(p.writes, []);
      assert.equal(w.answering(2008), false);
    },
  },
  {
    name: 'API unreachable: a foreign MAC announcing our address silences it until our heartbeat renews again',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      w.holder(first, 100);
      w.core.renewalStarted(2000);
      w.core.renewalFailed(2100);
      assert.equal(w.answering(2101), true, 'keeps answering without the API');
      w.core.conflict(VIP, 2200);
      assert.equal(w.answering(2201), false, 'yields to the successor on the wire');
      w.renew(3000);
      assert.equal(w.answering(3010), true, 'the API is back and the Lease still says us');
    },
  },
  {
    name: 'API reachable: a foreign MAC (a stale holder or a stranger) does not silence the holder',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      w.holder(first, 100);
      w.core.conflict(VIP, 2100);
      assert.equal(w.answering(2101), true);
    },
  },
  {
    name: 'leaving: the holder hands over to the best-ranked other live node and answers until it is written',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      w.holder(first, 100);
      w.core.leave('shutting down');
      const p = w.plan(2000);
      assert.equal(p.writes[0]?.action, 'handover');
      assert.equal(p.writes[0].holder, second);
      assert.equal(w.answering(2001), true);
    },
  },
  {
    name: 'leaving while the view is stale: hands over to a node known before, never to itself',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      w.holder(first, 100);
      w.core.renewalStarted(2000);
      w.core.renewalFailed(2400);
      w.core.leave('shutting down');
      assert.equal(w.plan(5000).writes[0]?.holder, second);
    },
  },
  {
    name: 'a claim that sat in a paused apiserver and landed after the old holder came back is not answered, and is given back',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      w.steady(3000, 4200, [first, second]); // third silent from 3000
      const [claim] = w.plan(4010).writes;
      assert.equal(claim?.action, 'claim');
      // The apiserver pauses; the claim times out on our side, third comes back meanwhile, and the claim lands at 30 s.
      w.core.renewalStarted(4500);
      w.core.writeFinished(claim, { result: 'error', message: 'timeout' }, 9010);
      w.core.renewalSucceeded('8000', 30_000);
      w.core.serviceLease(SVC, { holder: first, rv: '8001' }, 30_001);
      // Our view is current again from 30 000, and third gets a whole expiry from there to show itself.
      const p = w.plan(30_002);
      assert.equal(p.plans.find((x) => x.service === SVC)?.decision.answer, false, 'a late claim is never answered first');
      assert.equal(p.writes[0]?.action, 'handover');
      assert.equal(p.writes[0].holder, third);
    },
  },
  {
    name: 'a claim that lands late while the old holder stays dead is kept and answered',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      w.steady(3000, 4200, [first, second]);
      const [claim] = w.plan(4010).writes;
      assert.ok(claim);
      w.core.writeFinished(claim, { result: 'ok', lease: { holder: first, rv: '8001' } }, 4900);
      w.steady(5000, 8000, [first, second]);
      assert.deepEqual(w.plan(8000).writes, []);
      assert.equal(w.answering(8001), true);
    },
  },
  {
    name: 'a wake-up that finds every node still live asks for no plan; an expiry does',
    self: first,
    run: (w) => {
      w.steady(0, 3000);
      w.plan(2600);
      assert.equal(w.core.wake(2700), 'none');
      w.steady(3000, 5000, [first, second]);
      assert.equal(w.core.wake(4100), 'plan', `${third} expired`);
    },
  },
  {
    name: 'nobody waits for a node that is not ready: a restarted best-ranked agent says so, and the next one claims',
    self: second,
    run: (w) => {
      w.steady(0, 3000);
      w.holder(third, 100);
      // third dies at 3000; first (ranked best) restarts at 3200 and publishes ready: false for a whole expiry.
      for (let t = 3000; t <= 4000; t += 500) {
        w.renew(t);
        w.core.heartbeat(first, { holder: first, rv: String(20_000 + t), upLinks: ['eth0'], ready: false }, t + 3);
      }
      const [claim] = w.plan(4010).writes;
      assert.equal(claim?.action, 'claim', `${second} claims while ${first} is not ready`);
      assert.equal(claim.holder, second);
      // Had first been ready, second would have waited for it.
      const w2 = new World(second);
      w2.steady(0, 3000);
      w2.holder(third, 100);
      w2.steady(3000, 4001, [first, second]);
      assert.deepEqual(w2.plan(4010).writes, []);
    },
  },
  {
    name: 'an agent is not ready until its view has been current for a whole expiry',
    self: first,
    run: (w) => {
      w.renew(1000);
      assert.equal(w.core.ready(1010), false);
      w.renew(1500);
      w.renew(2000);
      assert.equal(w.core.ready(2400), false);
      w.renew(2500);
      assert.equal(w.core.ready(2503), true);
    },
  },
  {
    name: 'wakes up at the next expiry without polling',
    self: first,
    run: (w) => {
      w.steady(0, 2000);
      const wake = w.plan(1600).wakeAt;
      assert.ok(wake !== undefined && wake > 1600 && wake <= 1503 + 1500, `wake at ${String(wake)}`);
    },
  },
];

describe('AgentCore stories', () => {
  for (const story of stories) {
    it(story.name, () => { story.run(new World(story.self ?? second)); });
  }
});

describe('AgentCore incremental planning', () => {
  it('re-deciding only what changed gives the same decisions as planning everything (random Lease and heartbeat histories)', () => {
    const services = Array.from({ length: 12 }, (_, i) => ({ namespace: 'default', name: `s${i}`, type: 'LoadBalancer', ingressIPs: [`192.0.2.${20 + i}`] }));
    const sel = selectL2({
      policies: [compileL2Policy({ name: 'all', loadBalancerIPs: true })],
      services, nodes: ['a', 'b', 'c'].map((name) => ({ name, labels: {}, upLinks: ['eth0'] })), endpoints: new Map(), poolRanges: [],
    });
    let seed = 12345;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let round = 0; round < 20; round++) {
      const core = new AgentCore({ self: 'a', settings: DEFAULT_COORDINATION });
      const holders = new Map<string, string>();
      let rv = 1000;
      let t = 0;
      for (let step = 0; step < 60; step++) {
        t += 50 + rand(400);
        const op = rand(4);
        if (op === 0) {
          core.renewalStarted(t);
          const v = String(++rv);
          core.renewalSucceeded(v, t + 1);
          core.heartbeat('a', { holder: 'a', rv: v, upLinks: ['eth0'] }, t + 2);
        } else if (op === 1) {
          const node = ['b', 'c'][rand(2)] ?? 'b';
          core.heartbeat(node, { holder: node, rv: String(++rv), upLinks: ['eth0'] }, t);
        } else {
          const key = `default/s${rand(12)}`;
          const holder = ['a', 'b', 'c', ''][rand(4)] ?? '';
          core.serviceLease(key, { holder, rv: String(++rv) }, t);
          holders.set(key, holder);
        }
        const incremental = core.plan(sel, t + 3);
        for (const w of incremental.writes) core.writeFinished(w, { result: 'lost' }, t + 3);
        const live = core.live(t + 3);
        const full = planNode({
          self: 'a', selection: sel, holders, live, claimers: core.claimers(t + 3, live), apiReachable: core.apiReachable(t + 3),
          conflicted: new Set(), previous: new Map(), ranker: new CandidateRanker(),
        });
        const view = (ps: readonly { service: string; decision: { action: string; answer: boolean } }[]): string[] =>
          ps.map((p) => `${p.service} ${p.decision.action} ${String(p.decision.answer)}`).sort();
        assert.deepEqual(view(core.plan(sel, t + 3).plans), view(full), `round ${round} step ${step}`);
      }
    }
  });
});
