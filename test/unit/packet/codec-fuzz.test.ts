import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeArp, encodeArp } from '../../../src/packet/arp.js';
import { decodeEthernet, encodeEthernet } from '../../../src/packet/ethernet.js';
import { decodeNeighborDiscovery } from '../../../src/packet/icmpv6.js';
import { decodeIpv6 } from '../../../src/packet/ipv6.js';
import { decide } from '../../../src/l2/decide.js';
import { gratuitousFrames } from '../../../src/l2/frames.js';
import { parseIp } from '../../../src/packet/ip.js';
import { ARPING_REQUEST, NDISC6_SOLICITATION, OUR_MAC, PING6_REQUEST, PING_REQUEST } from '../../support/frames.js';
import { decodeIpv4, internetChecksum } from '../../../src/packet/ipv4.js';
import { icmpv6Checksum } from '../../../src/packet/icmpv6.js';
import { mutatedFrames } from '../../support/frame-mutations.js';

const view = { mac: OUR_MAC, addresses: new Set(['192.0.2.10', '2001:db8::10']), echo: new Set(['192.0.2.10', '2001:db8::10']) };
const seeds = [ARPING_REQUEST, NDISC6_SOLICITATION, PING_REQUEST, PING6_REQUEST, ...gratuitousFrames(parseIp('2001:db8::10')!, Buffer.from('02000000000c', 'hex'))];

/** Every decoder on the path, as the responder runs them. */
function decodeAll(frame: Buffer): void {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return;
  decodeArp(eth.value.payload);
  const ip = decodeIpv6(eth.value.payload);
  if (ip.ok) decodeNeighborDiscovery(ip.value);
  decodeIpv4(eth.value.payload);
}

/** A real frame with bytes flipped, truncated or extended. */
const mutated = mutatedFrames(seeds);

describe('codec fuzzing', () => {
  it('random bytes never make a decoder or the decision throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const b = Buffer.from(bytes);
      decodeAll(b);
      const d = decide(b, view);
      assert.ok(['reply', 'echo', 'conflict', 'ignore', 'malformed'].includes(d.kind));
    }), { numRuns: 5000 });
  });

  it('mutated real frames never throw, and every reply is itself a well-formed frame', () => {
    fc.assert(fc.property(mutated, (frame) => {
      decodeAll(frame);
      const d = decide(frame, view);
      if (d.kind === 'reply') {
        // What we send must decode cleanly and be addressed from us.
        const eth = decodeEthernet(d.frame);
        assert.ok(eth.ok);
        assert.deepEqual(eth.value.src, OUR_MAC);
        if (d.family === 6) {
          const ip = decodeIpv6(eth.value.payload);
          assert.ok(ip.ok);
          assert.ok(decodeNeighborDiscovery(ip.value).ok);
        } else {
          assert.ok(decodeArp(eth.value.payload).ok);
        }
        assert.ok(view.addresses.has(d.address));
      }
      if (d.kind === 'echo') {
        // An echo reply must be a valid packet from the address that was pinged.
        const eth = decodeEthernet(d.frame);
        assert.ok(eth.ok);
        assert.deepEqual(eth.value.src, OUR_MAC);
        if (d.family === 4) {
          const ip = decodeIpv4(eth.value.payload);
          assert.ok(ip.ok);
          assert.equal(internetChecksum(ip.value.payload), 0);
          assert.equal(ip.value.payload[0], 0);
        } else {
          const ip = decodeIpv6(eth.value.payload);
          assert.ok(ip.ok);
          assert.equal(icmpv6Checksum(ip.value.src, ip.value.dst, ip.value.payload), 0);
          assert.equal(ip.value.payload[0], 129);
        }
        assert.ok(view.echo.has(d.address));
      }
    }), { numRuns: 5000 });
  });

  it('ARP and Ethernet encode/decode round-trip for any field values', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => Buffer.from(a));
    const ip4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a));
    fc.assert(fc.property(fc.constantFrom(1, 2), mac, ip4, mac, ip4, fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined }),
      (op, senderMac, senderIp, targetMac, targetIp, vid) => {
        const arp = { op, senderMac, senderIp, targetMac, targetIp };
        const frame = encodeEthernet({ dst: targetMac, src: senderMac, etherType: 0x0806, payload: encodeArp(arp), ...(vid === undefined ? {} : { vlan: { pcp: 0, dei: false, vid } }) });
        const eth = decodeEthernet(frame);
        assert.ok(eth.ok);
        assert.equal(eth.value.vlan?.vid, vid);
        const back = decodeArp(eth.value.payload);
        assert.ok(back.ok);
        assert.deepEqual(back.value, arp);
      }));
  });
});
