import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../../../src/packet/arp.js';
import { decodeEthernet } from '../../../src/packet/ethernet.js';
import { ARPING_REQUEST, CLIENT_MAC } from '../../support/frames.js';

function arpPayload(): Buffer {
  const eth = decodeEthernet(ARPING_REQUEST);
  assert.ok(eth.ok);
  return Buffer.from(eth.value.payload);
}

describe('ARP codec', () => {
  it("decodes arping's request", () => {
    const r = decodeArp(arpPayload());
    assert.ok(r.ok);
    assert.equal(r.value.op, ARP_REQUEST);
    assert.deepEqual(r.value.senderMac, CLIENT_MAC);
    assert.deepEqual([...r.value.senderIp], [192, 0, 2, 100]);
    assert.deepEqual([...r.value.targetIp], [192, 0, 2, 10]);
  });

  it('re-encodes to the same bytes', () => {
    const p = arpPayload();
    const r = decodeArp(p);
    assert.ok(r.ok);
    assert.deepEqual(encodeArp(r.value), p);
  });

  it('accepts Ethernet padding after the packet', () => {
    const r = decodeArp(Buffer.concat([arpPayload(), Buffer.alloc(18)]));
    assert.ok(r.ok);
  });

  it('rejects truncation, other hardware/protocol types and unknown operations', () => {
    const p = arpPayload();
    assert.equal(decodeArp(p.subarray(0, 27)).ok, false);
    for (const [offset, value] of [[1, 6], [2, 0x86], [4, 8], [5, 16], [7, 3]] as const) {
      const bad = Buffer.from(p);
      bad[offset] = value;
      assert.equal(decodeArp(bad).ok, false, `byte ${offset} = ${value}`);
    }
    const reply = Buffer.from(p);
    reply[7] = ARP_REPLY;
    assert.equal(decodeArp(reply).ok, true);
  });
});
