import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BpfInsn, FilterSpec } from '../../../src/packet/bpf-filter.js';
import { ACCEPT, MAX_INSNS, buildFilter, livenessFilter, passAllArpNdFilter, planFilter, rejectAllFilter, toUint32Array } from '../../../src/packet/bpf-filter.js';
import { PROG_HEADER_BYTES, ebpfLength, filterBudget, readOptmemMax } from '../../../src/packet/filter-cost.js';
import { encodeEthernet } from '../../../src/packet/ethernet.js';
import { parseIp } from '../../../src/packet/ip.js';
import { encodeLivenessFrame } from '../../../src/packet/liveness-frame.js';
import { parseMac } from '../../../src/packet/mac.js';
import { checkProgram, runBpf } from '../../support/bpf-interpreter.js';
import { ARPING_REQUEST, NDISC6_SOLICITATION, PING6_REQUEST, PING_REQUEST } from '../../support/frames.js';
import { mulberry32 } from '../../../harness/seeded-random.js';

const host = { pkttype: 1, vlanTagPresent: false };
const v4 = (s: string) => parseIp(s)!.bytes;

function arpFor(target: string, sender = '192.0.2.100'): Buffer {
  const f = Buffer.from(ARPING_REQUEST);
  v4(sender).copy(f, 28);
  v4(target).copy(f, 38);
  return f;
}

function nsFor(target: string): Buffer {
  const f = Buffer.from(NDISC6_SOLICITATION);
  parseIp(target)!.bytes.copy(f, 62);
  return f;
}

describe('BPF filter', () => {
  const spec = { ipv4: [v4('192.0.2.10'), v4('192.0.2.11')], ipv6: [parseIp('2001:db8::10')!.bytes, parseIp('2001:db8::1:10')!.bytes] };
  const prog = buildFilter(spec);

  it('is a program the kernel would accept', () => {
    checkProgram(prog);
    checkProgram(rejectAllFilter());
  });

  it('passes ARP for announced targets and senders, drops other ARP', () => {
    assert.equal(runBpf(prog, arpFor('192.0.2.10'), host), ACCEPT);
    assert.equal(runBpf(prog, arpFor('192.0.2.11'), host), ACCEPT);
    assert.equal(runBpf(prog, arpFor('192.0.2.12'), host), 0);
    assert.equal(runBpf(prog, arpFor('192.0.2.11', '192.0.2.11'), host), ACCEPT, 'gratuitous ARP from someone else');
    assert.equal(runBpf(prog, arpFor('192.0.2.99', '192.0.2.10'), host), ACCEPT, 'our address as sender');
  });

  it('passes NS/NA for announced targets only', () => {
    assert.equal(runBpf(prog, nsFor('2001:db8::10'), host), ACCEPT);
    assert.equal(runBpf(prog, nsFor('2001:db8::1:10'), host), ACCEPT);
    assert.equal(runBpf(prog, nsFor('2001:db8::11'), host), 0);
    assert.equal(runBpf(prog, nsFor('2001:db8:1::10'), host), 0, 'differs only in the second word');
    const na = nsFor('2001:db8::10');
    na[54] = 136;
    assert.equal(runBpf(prog, na, host), ACCEPT);
    const echo = nsFor('2001:db8::10');
    echo[54] = 128;
    assert.equal(runBpf(prog, echo, host), 0);
    const udp = nsFor('2001:db8::10');
    udp[20] = 17;
    assert.equal(runBpf(prog, udp, host), 0);
  });

  it('drops our own outgoing frames, frames tagged with a VLAN id and truncated ones', () => {
    assert.equal(runBpf(prog, arpFor('192.0.2.10'), { pkttype: 4, vlanTagPresent: false }), 0);
    assert.equal(runBpf(prog, arpFor('192.0.2.10'), { pkttype: 1, vlanTagPresent: true, vlanTci: 7 }), 0);
    assert.equal(runBpf(prog, nsFor('2001:db8::10'), { pkttype: 2, vlanTagPresent: true, vlanTci: 0xe000 | 100 }), 0);
    const tagged = encodeEthernet({
      dst: Buffer.alloc(6, 0xff), src: Buffer.alloc(6, 2), vlan: { pcp: 0, dei: false, vid: 7 }, etherType: 0x0806,
      payload: arpFor('192.0.2.10').subarray(14),
    });
    assert.equal(runBpf(prog, tagged, host), 0);
    assert.equal(runBpf(prog, arpFor('192.0.2.10').subarray(0, 40), host), 0);
    assert.equal(runBpf(prog, Buffer.alloc(0), host), 0);
  });

  it('passes priority-tagged frames (VLAN id 0, any priority), as Linux answers them', () => {
    for (const vlanTci of [0, 0xe000, 0x1000, 0x2000 | 0x1000]) {
      const meta = { pkttype: 1, vlanTagPresent: true, vlanTci };
      assert.equal(runBpf(prog, arpFor('192.0.2.10'), meta), ACCEPT, `ARP, TCI 0x${vlanTci.toString(16)}`);
      assert.equal(runBpf(prog, nsFor('2001:db8::10'), { ...meta, pkttype: 2 }), ACCEPT, `NS, TCI 0x${vlanTci.toString(16)}`);
      assert.equal(runBpf(prog, arpFor('192.0.2.12'), meta), 0, 'still only announced addresses');
      assert.equal(runBpf(prog, arpFor('192.0.2.10'), { ...meta, vlanTci: vlanTci | 1 }), 0, 'VLAN 1');
      assert.equal(runBpf(prog, arpFor('192.0.2.10'), { ...meta, vlanTci: vlanTci | 0x800 }), 0, 'VLAN 2048');
    }
  });

  it('accepts nothing when nothing is announced, and handles one family alone', () => {
    const none = buildFilter({ ipv4: [], ipv6: [] });
    assert.equal(runBpf(none, arpFor('192.0.2.10'), host), 0);
    const onlyV6 = buildFilter({ ipv4: [], ipv6: spec.ipv6 });
    assert.equal(runBpf(onlyV6, arpFor('192.0.2.10'), host), 0);
    assert.equal(runBpf(onlyV6, nsFor('2001:db8::10'), host), ACCEPT);
    const onlyV4 = buildFilter({ ipv4: spec.ipv4, ipv6: [] });
    assert.equal(runBpf(onlyV4, nsFor('2001:db8::10'), host), 0);
    assert.equal(runBpf(onlyV4, arpFor('192.0.2.10'), host), ACCEPT);
  });

  it('stays exact with many addresses when the budget allows', () => {
    const many = Array.from({ length: 600 }, (_, i) => parseIp(`2001:db8::${(i * 3 + 1).toString(16)}`)!.bytes);
    const plan = planFilter({ ipv4: [v4('192.0.2.10')], ipv6: many }, filterBudget(20480));
    assert.equal(plan.mode, 'exact');
    assert.ok(plan.program.length <= MAX_INSNS);
    checkProgram(plan.program);
    assert.equal(runBpf(plan.program, nsFor('2001:db8::706'), host), ACCEPT);
    assert.equal(runBpf(plan.program, nsFor('2001:db8::707'), host), 0);
    assert.equal(runBpf(plan.program, nsFor('2001:db8::709'), host), 0);
    const manyV4 = Array.from({ length: 250 }, (_, i) => v4(`198.51.100.${i + 1}`));
    const exact = buildFilter({ ipv4: manyV4, ipv6: [] });
    checkProgram(exact);
    assert.equal(runBpf(exact, arpFor('198.51.100.250'), host), ACCEPT);
    assert.equal(runBpf(exact, arpFor('198.51.100.251'), host), 0);
  });

  it('serialises to [code, jt, jf, k] quadruples', () => {
    const flat = toUint32Array(prog);
    assert.equal(flat.length, prog.length * 4);
    assert.deepEqual([...flat.subarray(0, 4)], [prog[0]!.code, prog[0]!.jt, prog[0]!.jf, prog[0]!.k]);
  });
});


const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const ipv4n = (s: string) => v4(s).readUInt32BE(0);
/** 2001:db8:<p>::<hi>:<lo> as 16 bytes. */
function v6n(prefix: number, low64: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt32BE(prefix >>> 0, 4);
  b.writeBigUInt64BE(low64, 8);
  return b;
}

function arpWith(target: Uint8Array, sender: Uint8Array = v4('192.0.2.100')): Buffer {
  const f = Buffer.from(ARPING_REQUEST);
  f.set(sender, 28);
  f.set(target, 38);
  return f;
}

function ndWith(target: Uint8Array, type = 135): Buffer {
  const f = Buffer.from(NDISC6_SOLICITATION);
  f.set(target, 62);
  f[54] = type;
  return f;
}

const passes = (p: BpfInsn[], f: Buffer) => runBpf(p, f, host) === ACCEPT;

/** Every announced address passes: ARP as target and as sender, NS and NA. */
function assertAllPass(p: BpfInsn[], spec: FilterSpec): void {
  for (const a of spec.ipv4) {
    assert.ok(passes(p, arpWith(a)), `ARP for ${[...a].join('.')}`);
    assert.ok(passes(p, arpWith(v4('203.0.113.254'), a)), `ARP from ${[...a].join('.')}`);
  }
  for (const a of spec.ipv6) {
    assert.ok(passes(p, ndWith(a)), `NS for ${Buffer.from(a).toString('hex')}`);
    assert.ok(passes(p, ndWith(a, 136)), `NA for ${Buffer.from(a).toString('hex')}`);
  }
}

/** Scattered sets: IPv4 anywhere in three /16s, IPv6 anywhere in four /64s. */
function scattered(seed: number, n4: number, n6: number): FilterSpec {
  const r = mulberry32(seed);
  const bases4 = [ipv4n('10.1.0.0'), ipv4n('172.16.0.0'), ipv4n('192.168.0.0')];
  const ipv4 = Array.from({ length: n4 }, () => u32(bases4[Math.floor(r() * 3)]! + Math.floor(r() * 65536)));
  const ipv6 = Array.from({ length: n6 }, () =>
    v6n(Math.floor(r() * 4), (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32))));
  return { ipv4, ipv6 };
}

/** What a pool allocator hands out: lowest free first, with some released again. */
function clustered(seed: number, n4: number, n6: number): FilterSpec {
  const r = mulberry32(seed);
  const ipv4: Buffer[] = [];
  for (let i = 0; ipv4.length < n4; i++) if (r() > 0.1) ipv4.push(u32(ipv4n('10.20.0.1') + i));
  const ipv6: Buffer[] = [];
  for (let i = 0; ipv6.length < n6; i++) if (r() > 0.1) ipv6.push(v6n(7, BigInt(i + 1)));
  return { ipv4, ipv6 };
}

describe('BPF filter at scale (1,000 and more addresses)', () => {
  const small = filterBudget(20480);
  const large = filterBudget(131072);

  it('compares ranges: consecutive addresses cost one comparison, also across a word boundary', () => {
    const ipv4 = Array.from({ length: 1000 }, (_, i) => u32(ipv4n('10.0.0.0') + i));
    const ipv6 = Array.from({ length: 1000 }, (_, i) => v6n(0, 0xfffffe00n + BigInt(i)));
    const plan = planFilter({ ipv4, ipv6 }, small);
    assert.equal(plan.mode, 'exact');
    assert.deepEqual(plan.ranges, { ipv4: 1, ipv6: 2 }, 'the IPv6 run is split where its low word wraps');
    assert.ok(plan.ebpfLength < 250, `${plan.ebpfLength} eBPF instructions`);
    checkProgram(plan.program);
    assertAllPass(plan.program, { ipv4, ipv6 });
    assert.ok(!passes(plan.program, arpWith(u32(ipv4n('10.0.0.0') - 1))));
    assert.ok(!passes(plan.program, arpWith(u32(ipv4n('10.0.0.0') + 1000))));
    assert.ok(!passes(plan.program, ndWith(v6n(0, 0xfffffe00n - 1n))));
    assert.ok(!passes(plan.program, ndWith(v6n(0, 0xfffffe00n + 1000n))));
    assert.ok(!passes(plan.program, ndWith(v6n(1, 0xfffffe00n))), 'another /64');
  });

  it('fits 1,000 IPv4 and 1,000 IPv6 addresses as pools allocate them, exactly, at optmem_max 20,480', () => {
    const spec = clustered(1, 1000, 1000);
    const plan = planFilter(spec, small);
    assert.equal(plan.mode, 'exact');
    assert.ok(plan.ebpfLength <= small);
    checkProgram(plan.program);
    assertAllPass(plan.program, spec);
    const announced = new Set(spec.ipv4.map((a) => Buffer.from(a).readUInt32BE(0)));
    for (let i = 0; i < 1200; i++) {
      const a = ipv4n('10.20.0.1') + i;
      assert.equal(passes(plan.program, arpWith(u32(a))), announced.has(a), `10.20.x.x + ${i}`);
    }
  });

  // Uniformly scattered over three IPv4 /16s and four IPv6 /64s: the worst
  // case for ranges. At 20,480 the budget cannot hold them exactly, and a
  // good share of other addresses in the same prefixes pass too (decide()
  // drops them); outside those prefixes nothing passes.
  for (const [name, budget, bound] of [['20,480', small, 0.9], ['131,072', large, 0.5]] as const) {
    it(`keeps within the budget for optmem_max ${name} with 1,000 and 2,000 scattered addresses per family, every one passing`, (t) => {
      for (const n of [1000, 2000]) {
        const spec = scattered(n, n, n);
        const plan = planFilter(spec, budget);
        assert.notEqual(plan.mode, 'pass-all');
        assert.ok(plan.ebpfLength <= budget, `${plan.ebpfLength} > ${budget}`);
        assert.ok(plan.program.length <= MAX_INSNS);
        checkProgram(plan.program);
        assertAllPass(plan.program, spec);
        const other = scattered(n + 7, 2000, 2000);
        const fp4 = other.ipv4.filter((a) => passes(plan.program, arpWith(a, v4('203.0.113.1')))).length / 2000;
        const fp6 = other.ipv6.filter((a) => passes(plan.program, ndWith(a))).length / 2000;
        t.diagnostic(`${n} per family: ${plan.mode}, ${plan.ebpfLength} eBPF, ${plan.program.length} cBPF, ranges ${plan.ranges.ipv4}/${plan.ranges.ipv6}, other addresses in the same prefixes passing: IPv4 ${fp4}, IPv6 ${fp6}`);
        assert.ok(fp4 < bound && fp6 < bound, `${plan.mode}: ${fp4} / ${fp6} of unrelated addresses pass`);
        if (plan.mode === 'exact') assert.equal(fp4 + fp6, 0);
        for (let i = 1; i < 255; i++) {
          assert.ok(!passes(plan.program, arpWith(v4(`203.0.113.${i}`), v4(`198.51.100.${i}`))));
          assert.ok(!passes(plan.program, ndWith(parseIp(`2001:db8:ffff::${i.toString(16)}`)!.bytes)));
        }
      }
    });
  }

  it('widens by merging the closest neighbours first', () => {
    const base = ipv4n('10.0.0.0');
    const offsets = [1, 2, 3, 10, 20, 1000, 5000, 100000];
    const spec = { ipv4: offsets.map((o) => u32(base + o)), ipv6: [] };
    const exact = planFilter(spec, 10_000);
    assert.equal(exact.mode, 'exact');
    assert.equal(exact.ranges.ipv4, 6);
    const probes = [5, 15, 500, 3000, 50000];
    let previous = -1;
    for (let budget = exact.ebpfLength - 1; budget > 0; budget--) {
      const plan = planFilter(spec, budget);
      if (plan.mode === 'pass-all') break;
      assert.equal(plan.mode, 'widened');
      assert.ok(plan.ebpfLength <= budget);
      assertAllPass(plan.program, spec);
      const passing = probes.map((o) => passes(plan.program, arpWith(u32(base + o))));
      // Gaps close smallest first: once a gap passes, every smaller one does.
      const n = passing.lastIndexOf(true) + 1;
      assert.deepEqual(passing, probes.map((_, i) => i < n), `budget ${budget}: ${passing.join()}`);
      assert.ok(n >= previous);
      previous = n;
      assert.ok(!passes(plan.program, arpWith(u32(base + 200000))), 'never beyond the outermost addresses');
    }
    assert.equal(previous, probes.length, 'down to a single range');
  });

  it('falls back to passing all ARP/NS/NA when even one range per family does not fit', () => {
    const spec = scattered(3, 50, 50);
    const plan = planFilter(spec, 40);
    assert.equal(plan.mode, 'pass-all');
    assert.deepEqual(plan.program, passAllArpNdFilter());
    assertAllPass(plan.program, spec);
    assert.ok(passes(plan.program, arpWith(v4('203.0.113.1'))));
  });

  it('passAllArpNdFilter passes any ARP, NS and NA; still drops other frames, outgoing ones and VLAN ids', () => {
    const p = passAllArpNdFilter();
    checkProgram(p);
    assert.ok(ebpfLength(p) < 80, `${ebpfLength(p)}`);
    assert.ok(passes(p, arpWith(v4('203.0.113.9'))));
    assert.ok(passes(p, ndWith(parseIp('2001:db8:1::9')!.bytes)));
    assert.ok(passes(p, ndWith(parseIp('2001:db8:1::9')!.bytes, 136)));
    assert.ok(!passes(p, ndWith(parseIp('2001:db8:1::9')!.bytes, 128)), 'echo request');
    const udp = ndWith(parseIp('2001:db8:1::9')!.bytes);
    udp[20] = 17;
    assert.ok(!passes(p, udp));
    const ipv4 = arpWith(v4('203.0.113.9'));
    ipv4.writeUInt16BE(0x0800, 12);
    assert.ok(!passes(p, ipv4));
    assert.equal(runBpf(p, arpWith(v4('203.0.113.9')), { pkttype: 4, vlanTagPresent: false }), 0);
    assert.equal(runBpf(p, arpWith(v4('203.0.113.9')), { pkttype: 1, vlanTagPresent: true, vlanTci: 5 }), 0);
    assert.equal(runBpf(p, arpWith(v4('203.0.113.9')), { pkttype: 1, vlanTagPresent: true, vlanTci: 0x6000 }), ACCEPT);
    assert.equal(runBpf(passAllArpNdFilter(true, false), ndWith(parseIp('2001:db8::9')!.bytes), host), 0);
    assert.equal(runBpf(passAllArpNdFilter(false, true), arpWith(v4('192.0.2.9')), host), 0);
  });

  it('holds for any set and budget: valid program, every announced address passes, exact means exact', () => {
    // Small spaces, so that runs, neighbours and word-boundary crossings are common.
    const addr4 = fc.integer({ min: 0, max: 300 }).map((n) => u32(ipv4n('192.0.2.0') + n));
    const addr6 = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: -40, max: 40 }))
      .map(([p, hi, lo]) => v6n(p, ((BigInt(hi) << 32n) + BigInt(lo)) & 0xffffffffffffffffn));
    fc.assert(fc.property(
      fc.array(addr4, { maxLength: 60 }), fc.array(addr6, { maxLength: 60 }), fc.integer({ min: 30, max: 1500 }),
      fc.array(addr4, { minLength: 5, maxLength: 5 }), fc.array(addr6, { minLength: 5, maxLength: 5 }),
      (ipv4, ipv6, budget, probe4, probe6) => {
        const spec = { ipv4, ipv6 };
        const plan = planFilter(spec, budget);
        checkProgram(plan.program);
        if (plan.mode !== 'pass-all') assert.ok(plan.ebpfLength <= budget);
        assertAllPass(plan.program, spec);
        if (plan.mode === 'exact') {
          const has4 = new Set(ipv4.map((a) => a.toString('hex')));
          const has6 = new Set(ipv6.map((a) => a.toString('hex')));
          for (const a of probe4) assert.equal(passes(plan.program, arpWith(a, v4('203.0.113.1'))), has4.has(a.toString('hex')));
          for (const a of probe6) assert.equal(passes(plan.program, ndWith(a)), has6.has(a.toString('hex')));
        }
      },
    ), { numRuns: 300 });
  });
});

describe('filter cost and budget', () => {
  const ret0 = { code: 0x06, jt: 0, jf: 0, k: 0 };
  it('counts eBPF instructions as the kernel converts them (figures from bench/filter-calibrate.ts)', () => {
    const jeqs = (n: number, k = 1) => [...Array.from({ length: n }, () => ({ code: 0x15, jt: 0, jf: 0, k })), ret0];
    assert.equal(ebpfLength([ret0]), 5);
    // Largest accepted on a fresh socket at optmem_max 20,480: 2,542 of these, 1,271 with k ≥ 2^31, 181 word loads.
    assert.equal(ebpfLength(jeqs(2542)), 2547);
    assert.equal(ebpfLength(jeqs(1271, 0xc0000201)), 2547);
    assert.equal(ebpfLength([...Array.from({ length: 181 }, () => ({ code: 0x20, jt: 0, jf: 0, k: 14 })), ret0]), 2543);
  });

  it('budgets for two programs at once (a swap), below optmem_max', () => {
    for (const optmem of [10240, 20480, 65536, 131072, 1 << 20]) {
      const b = filterBudget(optmem);
      assert.ok(2 * (PROG_HEADER_BYTES + 8 * b) < optmem, `${optmem}`);
      assert.ok(b > optmem / 16 - 64, `not needlessly small at ${optmem}: ${b}`);
    }
    assert.equal(filterBudget(20480), 1232);
    assert.equal(filterBudget(0), 0);
    assert.ok(filterBudget(20480) >= ebpfLength(passAllArpNdFilter()));
  });

  it('reads optmem_max from a file, undefined if it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-optmem-'));
    writeFileSync(join(dir, 'optmem_max'), '20480\n');
    assert.equal(readOptmemMax(join(dir, 'optmem_max')), 20480);
    writeFileSync(join(dir, 'optmem_max'), 'x\n');
    assert.equal(readOptmemMax(join(dir, 'optmem_max')), undefined);
    assert.equal(readOptmemMax(join(dir, 'missing')), undefined);
    rmSync(dir, { recursive: true });
    assert.ok((readOptmemMax() ?? 0) > 0, 'this namespace has one');
  });
});

describe('liveness BPF filter', () => {
  const ours = '02:48:52:00:01:00';
  const prog = livenessFilter(parseMac(ours)!);
  const hello = (dstMac: string) => encodeLivenessFrame({ dstMac, srcMac: '02:48:52:00:02:00', from: 'node1', msg: { kind: 'hello', seq: 1 } });

  it('is a program the kernel would accept', () => {
    checkProgram(prog);
    assert.throws(() => livenessFilter(Buffer.alloc(5)), /6 bytes/);
  });

  it('passes liveness frames addressed to our MAC, whatever they carry', () => {
    assert.equal(runBpf(prog, hello(ours), host), ACCEPT);
    assert.equal(runBpf(prog, hello(ours), { pkttype: 0, vlanTagPresent: false }), ACCEPT);
    const junk = hello(ours);
    junk[14] = 0; // bad magic: the decoder, not the kernel, reports it
    assert.equal(runBpf(prog, junk, host), ACCEPT);
    assert.equal(runBpf(prog, hello(ours).subarray(0, 14), host), ACCEPT, 'header only');
  });

  it('drops frames for any other MAC, differing in any byte; passes broadcast (a "down" verdict)', () => {
    for (let i = 0; i < 6; i++) {
      const other = parseMac(ours)!;
      other[i]! ^= 0x10;
      assert.equal(runBpf(prog, hello(ours).fill(other, 0, 6), host), 0, `byte ${i}`);
    }
    assert.equal(runBpf(prog, hello('02:48:52:00:03:00'), host), 0);
    assert.equal(runBpf(prog, hello(ours).fill(0xff, 0, 6), host), ACCEPT);
    const almost = hello(ours).fill(0xff, 0, 6);
    almost[5] = 0xfe;
    assert.equal(runBpf(prog, almost, host), 0, 'ff:ff:ff:ff:ff:fe is not broadcast');
    const arpBroadcast = Buffer.from(ARPING_REQUEST).fill(0xff, 0, 6);
    assert.equal(runBpf(prog, arpBroadcast, host), 0, 'broadcast of another EtherType');
  });

  it('drops other EtherTypes, VLAN-tagged and outgoing frames, and truncated ones', () => {
    const arp = Buffer.from(ARPING_REQUEST).fill(parseMac(ours)!, 0, 6);
    assert.equal(runBpf(prog, arp, host), 0);
    assert.equal(runBpf(prog, hello(ours), { pkttype: 4, vlanTagPresent: false }), 0);
    assert.equal(runBpf(prog, hello(ours), { pkttype: 0, vlanTagPresent: true }), 0);
    const f = hello(ours);
    const tagged = encodeEthernet({ dst: f.subarray(0, 6), src: f.subarray(6, 12), vlan: { pcp: 0, dei: false, vid: 7 }, etherType: 0x88b5, payload: f.subarray(14) });
    assert.equal(runBpf(prog, tagged, host), 0);
    assert.equal(runBpf(prog, f.subarray(0, 13), host), 0);
    assert.equal(runBpf(prog, Buffer.alloc(0), host), 0);
  });
});

describe('BPF filter: ping opt-in', () => {
  const pass = (program: readonly BpfInsn[], frame: Buffer) => runBpf(program, frame, { pkttype: 0, vlanTagPresent: false }) > 0;
  const v4 = parseIp('192.0.2.10')!.bytes;
  const v6 = parseIp('2001:db8::10')!.bytes;
  const other = (frame: Buffer, at: number) => {
    const f = Buffer.from(frame);
    f.writeUInt8(f.readUInt8(at) ^ 1, at);
    return f;
  };

  it('passes echo requests to the opted-in addresses only, and nothing more without the opt-in', () => {
    const without = buildFilter({ ipv4: [v4], ipv6: [v6] });
    assert.equal(pass(without, PING_REQUEST), false);
    assert.equal(pass(without, PING6_REQUEST), false);
    const spec: FilterSpec = { ipv4: [v4], ipv6: [v6], echo4: [v4], echo6: [v6] };
    const program = buildFilter(spec);
    checkProgram(program);
    assert.equal(pass(program, PING_REQUEST), true);
    assert.equal(pass(program, PING6_REQUEST), true);
    assert.equal(pass(program, ARPING_REQUEST), true, 'ARP still passes');
    assert.equal(pass(program, NDISC6_SOLICITATION), true, 'NS still passes');
    // Another destination (last address byte flipped), another ICMP type, another protocol.
    assert.equal(pass(program, other(PING_REQUEST, 14 + 19)), false);
    assert.equal(pass(program, other(PING6_REQUEST, 14 + 39)), false);
    assert.equal(pass(program, other(PING_REQUEST, 14 + 20)), false, 'type 9 is no echo request');
    assert.equal(pass(program, other(PING_REQUEST, 14 + 9)), false, 'protocol 0 is not ICMP');
    assert.equal(pass(program, other(PING6_REQUEST, 14 + 40)), false, 'ICMPv6 type 129 is no request');
  });

  it('finds the ICMP type after IPv4 options, by the header length', () => {
    // The same request with a 4-byte NOP option: IHL 6.
    const ip = PING_REQUEST.subarray(14);
    const withOption = Buffer.concat([PING_REQUEST.subarray(0, 14), Buffer.from([0x46]), ip.subarray(1, 20), Buffer.from([1, 1, 1, 0]), ip.subarray(20)]);
    const program = buildFilter({ ipv4: [v4], ipv6: [], echo4: [v4] });
    assert.equal(pass(program, withOption), true);
    assert.equal(pass(program, other(withOption, 14 + 24)), false, 'the type is read after the option');
  });

  it('counts its cost in the budget, and the pass-all fallback can pass every echo request', () => {
    const spec: FilterSpec = { ipv4: [v4], ipv6: [v6], echo4: [v4], echo6: [v6] };
    assert.ok(planFilter(spec).ebpfLength > planFilter({ ipv4: [v4], ipv6: [v6] }).ebpfLength + 20);
    const all = passAllArpNdFilter(true, true, true);
    assert.equal(pass(all, PING_REQUEST), true);
    assert.equal(pass(all, PING6_REQUEST), true);
    assert.equal(pass(passAllArpNdFilter(), PING_REQUEST), false);
  });
});
