import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCEPT, MAX_INSNS, buildFilter, livenessFilter, rejectAllFilter, toUint32Array } from '../../../src/packet/bpf-filter.js';
import { encodeEthernet } from '../../../src/packet/ethernet.js';
import { parseIp } from '../../../src/packet/ip.js';
import { encodeLivenessFrame } from '../../../src/packet/liveness-frame.js';
import { parseMac } from '../../../src/packet/mac.js';
import { checkProgram, runBpf } from '../../support/bpf-interpreter.js';
import { ARPING_REQUEST, NDISC6_SOLICITATION } from '../../support/frames.js';

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

  it('drops our own outgoing frames, VLAN-tagged frames and truncated ones', () => {
    assert.equal(runBpf(prog, arpFor('192.0.2.10'), { pkttype: 4, vlanTagPresent: false }), 0);
    assert.equal(runBpf(prog, arpFor('192.0.2.10'), { pkttype: 1, vlanTagPresent: true }), 0);
    const tagged = encodeEthernet({
      dst: Buffer.alloc(6, 0xff), src: Buffer.alloc(6, 2), vlan: { pcp: 0, dei: false, vid: 7 }, etherType: 0x0806,
      payload: arpFor('192.0.2.10').subarray(14),
    });
    assert.equal(runBpf(prog, tagged, host), 0);
    assert.equal(runBpf(prog, arpFor('192.0.2.10').subarray(0, 40), host), 0);
    assert.equal(runBpf(prog, Buffer.alloc(0), host), 0);
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

  it('stays within limits with many addresses, falling back to passing all ARP/ND', () => {
    const many = Array.from({ length: 600 }, (_, i) => parseIp(`2001:db8::${(i + 1).toString(16)}`)!.bytes);
    const big = buildFilter({ ipv4: [v4('192.0.2.10')], ipv6: many });
    assert.ok(big.length <= MAX_INSNS);
    checkProgram(big);
    assert.equal(runBpf(big, nsFor('2001:db8::ffff'), host), ACCEPT, 'fallback passes every solicitation');
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
