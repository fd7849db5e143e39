/**
 * The responder's socket filter against the kernel (issue 15 items 2 and 3):
 * a large announced set on one interface at net.core.optmem_max 20,480 (the
 * old default many distributions still ship) and 131,072 (6.x's), set in the
 * node's namespace only; and frames priority-tagged with VLAN id 0, which
 * Linux answers as untagged.
 *
 * Test traffic stays on documentation addresses, so IPv4 is at most the three
 * /24s: 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 (762 usable, less
 * the client's, the node's backend and every seventh as a hole), beside
 * 1,000 IPv6 addresses in 2001:db8::/64, half in a run with holes, half
 * scattered over the /64. The unit tests take synthetic sets of 2,000.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RunnerClient } from '../../harness/runner-client.js';
import type { Node } from '../../harness/testbed.js';
import { Testbed, arpingReplies, ndisc6Replies } from '../../harness/testbed.js';
import type { AnnouncePair } from '../../src/l2/responder.js';
import { planFilter } from '../../src/packet/bpf-filter.js';
import { filterBudget } from '../../src/packet/filter-cost.js';
import { parseIp } from '../../src/packet/ip.js';
import { mulberry32 } from '../../harness/seeded-random.js';

const vlanProbe = fileURLToPath(new URL('../../harness/vlan-probe.js', import.meta.url));


const hex = (n: number) => n.toString(16);
const CLIENT = '192.0.2.100';
const NODE_BACKEND = '198.51.100.1';

function addressSet(): { ipv4: string[]; ipv6: string[]; holes4: string[]; holes6: string[] } {
  const ipv4: string[] = [];
  const holes4: string[] = [];
  for (const net of ['192.0.2', '198.51.100', '203.0.113']) {
    for (let i = 1; i < 255; i++) {
      const a = `${net}.${i}`;
      if (a === CLIENT || a === NODE_BACKEND) continue;
      (i % 7 === 0 ? holes4 : ipv4).push(a);
    }
  }
  const ipv6: string[] = [];
  const holes6: string[] = [];
  for (let i = 0; ipv6.length < 500; i++) (i % 7 === 0 ? holes6 : ipv6).push(`2001:db8::1:${hex(i + 1)}`);
  const r = mulberry32(15);
  const word = () => Math.floor(r() * 0x10000);
  while (ipv6.length < 1000) {
    const a = `2001:db8::${hex(word() | 0x100)}:${hex(word())}:${hex(word())}:${hex(word())}`;
    if (!ipv6.includes(a)) ipv6.push(a);
  }
  return { ipv4, ipv6, holes4, holes6 };
}

/** First, last and ten others spread at random. */
function sample<T>(all: readonly T[], r: () => number): T[] {
  const picks = new Set<T>([all[0]!, all.at(-1)!]);
  while (picks.size < 12) picks.add(all[Math.floor(r() * all.length)]!);
  return [...picks];
}

describe('socket filter at scale and for VLAN 0, against the kernel', () => {
  let bed: Testbed;
  let node: Node;
  let runner: RunnerClient;
  const set = addressSet();
  // Interleaved, so that each step of a growing set has both families.
  const pairs: AnnouncePair[] = [];
  for (let i = 0; i < Math.max(set.ipv4.length, set.ipv6.length); i++) {
    for (const a of [set.ipv4[i], set.ipv6[i]]) if (a !== undefined) pairs.push({ address: a, interface: 'eth0' });
  }

  const arping = async (ip: string) => {
    const r = await bed.execStatus(bed.client, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', ip]);
    return arpingReplies(r.stdout);
  };
  const ndisc6 = async (ip: string) => {
    const r = await bed.execStatus(bed.client, ['ndisc6', '-m', '-n', '-r', '1', '-w', '1000', ip, 'eth0']);
    return ndisc6Replies(r.stdout);
  };
  const noProblems = (since: number) => {
    const problems = runner.events('problem').slice(since);
    assert.deepEqual(problems, [], 'the responder reported no problem (a filter the kernel refused would be one)');
  };

  before(async () => {
    bed = await Testbed.create({ nodes: [{ name: 'node0', lanAddress: false }] });
    node = bed.node('node0');
    // The client reaches all three /24s on the LAN.
    await bed.exec(bed.client, ['sh', '-ec', 'ip route add 198.51.100.0/24 dev eth0 && ip route add 203.0.113.0/24 dev eth0']);
    runner = await RunnerClient.start(bed, node, { BURST_ROUNDS: '1' });
  });

  after(async () => {
    await bed.destroy();
  });

  for (const optmem of [20480, 131072]) {
    it(`answers ${set.ipv4.length} IPv4 and ${set.ipv6.length} IPv6 addresses on one interface at optmem_max ${optmem}, grown in steps and opened afresh`, async (t) => {
      await runner.set([]);
      await bed.exec(node, ['sysctl', '-qw', `net.core.optmem_max=${optmem}`]);
      const problems = runner.events('problem').length;
      const plan = planFilter({ ipv4: set.ipv4.map((a) => parseIp(a)!.bytes), ipv6: set.ipv6.map((a) => parseIp(a)!.bytes) }, filterBudget(optmem));
      t.diagnostic(`filter for the whole set: ${plan.mode}, ${plan.ebpfLength} eBPF instructions (budget ${filterBudget(optmem)}), ${plan.program.length} cBPF, ranges ${plan.ranges.ipv4} IPv4 / ${plan.ranges.ipv6} IPv6`);
      // Each step replaces the filter while the previous one is still charged.
      for (let q = 1; q <= 4; q++) {
        await runner.set(pairs.slice(0, Math.ceil((q / 4) * pairs.length)));
        noProblems(problems);
      }
      const r = mulberry32(optmem);
      const v4 = sample(set.ipv4, r);
      const v6 = sample(set.ipv6, r);
      for (const ip of v4) assert.deepEqual(await arping(ip), [node.mac], `ARP for ${ip}`);
      for (const ip of v6) assert.deepEqual(await ndisc6(ip), [node.mac], `NS for ${ip}`);
      // Holes: whatever the filter passes, decide() answers only for announced addresses.
      for (const ip of set.holes4.slice(0, 2)) assert.deepEqual(await arping(ip), [], `ARP for ${ip}, not announced`);
      for (const ip of set.holes6.slice(0, 2)) assert.deepEqual(await ndisc6(ip), [], `NS for ${ip}, not announced`);

      // A fresh socket with the whole set at once.
      await runner.set([]);
      await runner.set(pairs);
      noProblems(problems);
      const state = runner.events('state').at(-1);
      assert.equal(state?.state, 'active');
      for (const ip of [set.ipv4[0]!, set.ipv4.at(-1)!, ...v4.slice(2, 4)]) assert.deepEqual(await arping(ip), [node.mac], `ARP for ${ip}`);
      for (const ip of [set.ipv6[0]!, set.ipv6.at(-1)!, ...v6.slice(2, 4)]) assert.deepEqual(await ndisc6(ip), [node.mac], `NS for ${ip}`);
      await runner.set([]);
    });
  }

  it('answers ARP and NS priority-tagged with VLAN id 0, untagged as the kernel does, and ignores other VLAN ids', async () => {
    await bed.exec(node, ['sysctl', '-qw', 'net.core.optmem_max=20480']);
    await runner.set([{ address: '192.0.2.40', interface: 'eth0' }, { address: '2001:db8::40', interface: 'eth0' }]);
    const probe = async (kind: 'arp' | 'ns', target: string, vid: number) => {
      const { stdout } = await bed.exec(bed.client, [process.execPath, vlanProbe, 'eth0', kind, target, String(vid), '3', '500']);
      return JSON.parse(stdout) as { untagged: string[]; tagged: string[] };
    };
    // The node kernel's own answer for its backend address (on lo; Linux
    // answers ARP for any local address): untagged.
    assert.deepEqual(await probe('arp', NODE_BACKEND, 0), { untagged: [node.mac, node.mac, node.mac], tagged: [] }, 'the kernel');
    assert.deepEqual(await probe('arp', '192.0.2.40', 0), { untagged: [node.mac, node.mac, node.mac], tagged: [] });
    assert.deepEqual(await probe('ns', '2001:db8::40', 0), { untagged: [node.mac, node.mac, node.mac], tagged: [] });
    // A VLAN id belongs to a sub-interface, and there is none: neither herald nor the kernel answers.
    assert.deepEqual(await probe('arp', '192.0.2.40', 5), { untagged: [], tagged: [] });
    assert.deepEqual(await probe('ns', '2001:db8::40', 5), { untagged: [], tagged: [] });
    assert.deepEqual(await probe('arp', NODE_BACKEND, 5), { untagged: [], tagged: [] }, 'the kernel');
    await runner.set([]);
  });
});
