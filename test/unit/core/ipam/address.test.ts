import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, formatRange, parseCidr, parseIp } from '../../../../src/core/ipam/address.js';

describe('address parsing', () => {
  it('parses IPv4 and IPv6 into BigInt values and formats them canonically', () => {
    const v4 = parseIp('192.0.2.1');
    assert.deepEqual(v4, { ok: true, value: { family: 4, value: 0xc0000201n } });
    const v6 = parseIp('2001:DB8:0:0::1');
    assert.ok(v6.ok);
    assert.equal(formatIp(6, v6.value.value), '2001:db8::1');
    assert.equal(formatIp(4, 0xc0000201n), '192.0.2.1');
  });

  it('rejects garbage, prefixes and zones with a message naming the input', () => {
    for (const bad of ['192.0.2', '192.0.2.256', 'foo', '192.0.2.1/32', 'fe80::1%eth0', '']) {
      const r = parseIp(bad);
      assert.ok(!r.ok, bad);
      assert.ok(r.error.includes(`"${bad}"`));
    }
  });

  it('parses CIDRs, masking host bits, and big IPv6 prefixes', () => {
    const r = parseCidr('192.0.2.7/24');
    assert.ok(r.ok);
    assert.equal(formatRange(r.value), '192.0.2.0-192.0.2.255');
    const v6 = parseCidr('2001:db8::/64');
    assert.ok(v6.ok);
    assert.equal(v6.value.end - v6.value.start + 1n, 2n ** 64n);
    assert.equal(parseCidr('192.0.2.0/33').ok, false);
    assert.equal(parseCidr('192.0.2.0').ok, false);
    assert.equal(parseCidr('192.0.2.0/x').ok, false);
  });
});
