import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decide, decideFully, ipv6Text } from '../../../src/l2/decide.js';
import { ipText, parseIp } from '../../../src/packet/ip.js';
import { ARPING_REQUEST, OUR_MAC } from '../../support/frames.js';
import { mutatedFrames } from '../../support/frame-mutations.js';

// decide() answers plain ARP requests for other addresses without decoding
// (the flood a widened or pass-all filter lets through); it must say exactly
// what the full decision says, for those frames and for every frame near them.
describe('decide: the ARP flood shortcut', () => {
  const addresses = new Set(['192.0.2.10', '192.0.2.11', '0.0.0.0', '2001:db8::10']);
  // With and without the numeric IPv4 set the responder passes.
  const views = [
    { mac: OUR_MAC, addresses },
    { mac: OUR_MAC, addresses, ipv4: new Set([...addresses].filter((a) => !a.includes(':')).map((a) => parseIp(a)!.bytes.readUInt32BE(0))) },
  ];
  const view = views[0]!;
  const ip = fc.oneof(
    fc.constantFrom('192.0.2.10', '192.0.2.11', '192.0.2.12', '0.0.0.0', '0.1.2.3', '127.0.0.1', '224.0.0.1', '239.255.255.255',
      '240.0.0.1', '255.255.255.255', '255.255.255.254', '203.0.113.7'),
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.')),
  ).map((t) => Buffer.from(t.split('.').map(Number)));
  const mac = fc.constantFrom(OUR_MAC, Buffer.from('02000000000b', 'hex'), Buffer.alloc(6, 0xff));

  it('agrees with the full decision on ARP frames around its conditions', () => {
    fc.assert(fc.property(
      ip, ip, mac, mac, mac,
      fc.constantFrom(1, 2, 3), fc.constantFrom(0x0806, 0x8100, 0x86dd),
      fc.constantFrom(0x00010800, 0x00060800, 0x00010806), fc.constantFrom(0x0604, 0x0606, 0x0504),
      fc.integer({ min: 40, max: 64 }),
      (target, sender, dst, src, senderMac, op, etherType, types, lens, length) => {
        const f = Buffer.alloc(Math.max(length, 42));
        Buffer.from(ARPING_REQUEST).copy(f);
        dst.copy(f, 0);
        src.copy(f, 6);
        f.writeUInt16BE(etherType, 12);
        f.writeUInt32BE(types, 14);
        f.writeUInt16BE(lens, 18);
        f.writeUInt16BE(op, 20);
        senderMac.copy(f, 22);
        sender.copy(f, 28);
        target.copy(f, 38);
        const frame = f.subarray(0, length);
        for (const v of views) assert.deepEqual(decide(frame, v), decideFully(frame, v));
      },
    ), { numRuns: 5000 });
  });

  it('agrees with the full decision on mutated captured frames', () => {
    // Keep the EtherType, so that most cases reach the ARP checks.
    fc.assert(fc.property(mutatedFrames([ARPING_REQUEST], new Set([12, 13])), (m) => {
      for (const v of views) assert.deepEqual(decide(m, v), decideFully(m, v));
    }), { numRuns: 5000 });
  });

  it('takes the shortcut for the flood frame', () => {
    const f = Buffer.from(ARPING_REQUEST);
    Buffer.from([203, 0, 113, 9]).copy(f, 38);
    assert.deepEqual(decide(f, view), { kind: 'ignore', reason: 'ARP request for an address not ours', request: true });
  });
});

describe('decide: IPv6 target text', () => {
  it('formats as ipText does', () => {
    // Mostly zero groups, so that runs of every length and position occur.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(1, 0xffff, 0x10, 0x100));
    fc.assert(fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
      assert.equal(ipv6Text(b), ipText(b));
    }), { numRuns: 20000 });
    for (const t of ['::', '::1', '1::', '2001:db8::', '::ffff:c000:20a', 'fe80::1:0:0:1', '2001:db8:0:1:1:1:1:1', '1:0:0:2:0:0:0:3']) {
      const b = parseIp(t)!.bytes;
      assert.equal(ipv6Text(b), ipText(b), t);
    }
  });
});
