import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipText, parseIp } from '../../../src/packet/ip.js';
import { formatMac, isMulticastMac, parseMac } from '../../../src/packet/mac.js';
import { multicastMac, solicitedNodeAddress } from '../../../src/packet/ipv6.js';

describe('addresses', () => {
  it('parses IPv4 and IPv6 to wire bytes and canonical text', () => {
    assert.deepEqual(parseIp('192.0.2.10'), { family: 4, bytes: Buffer.from([192, 0, 2, 10]), text: '192.0.2.10' });
    const v6 = parseIp('2001:DB8:0:0::0010');
    assert.ok(v6);
    assert.equal(v6.text, '2001:db8::10');
    assert.equal(v6.bytes.length, 16);
    assert.equal(v6.bytes.toString('hex'), '20010db8000000000000000000000010');
    assert.equal(parseIp('::1')?.bytes.toString('hex'), '00000000000000000000000000000001');
  });

  it('refuses what is not a plain address', () => {
    for (const bad of ['', '192.0.2', '192.0.2.256', '192.0.2.1/24', 'fe80::1%eth0', 'eth0', '2001:db8:::1']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  it('formats bytes', () => {
    assert.equal(ipText(Buffer.from('fe800000000000000000000000000001', 'hex')), 'fe80::1');
    assert.equal(formatMac(Buffer.from('02000000000a', 'hex')), '02:00:00:00:00:0a');
    assert.deepEqual(parseMac('02:00:00:00:00:0A'), Buffer.from('02000000000a', 'hex'));
    assert.equal(parseMac('02:00:00:00:00'), undefined);
    assert.equal(isMulticastMac(Buffer.from('333300000001', 'hex')), true);
    assert.equal(isMulticastMac(Buffer.from('02000000000a', 'hex')), false);
  });

  it('maps an address to its solicited-node group and MAC (RFC 4291, RFC 2464)', () => {
    const g = solicitedNodeAddress(parseIp('2001:db8::1:2345:6789')!.bytes);
    assert.equal(ipText(g), 'ff02::1:ff45:6789');
    assert.equal(formatMac(multicastMac(g)), '33:33:ff:45:67:89');
  });
});
