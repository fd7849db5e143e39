/** The VIP probe's targets: an address on the common port, or one with its own (a NodePort). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTarget } from '../../../harness/vip-probe.js';

test('a bare address uses the common port, whatever its family', () => {
  assert.deepEqual(parseTarget('192.0.2.200', 80), { host: '192.0.2.200', port: 80 });
  assert.deepEqual(parseTarget('2001:db8::1:5', 80), { host: '2001:db8::1:5', port: 80 });
});

test('an address with a port keeps its own', () => {
  assert.deepEqual(parseTarget('192.0.2.11:30080', 80), { host: '192.0.2.11', port: 30080 });
  assert.deepEqual(parseTarget('[2001:db8::11]:30080', 80), { host: '2001:db8::11', port: 30080 });
});
