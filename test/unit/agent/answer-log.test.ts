import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerLog } from '../../../src/agent/answer-log.js';

test('replies and gratuitous rounds are counted per address and interface, and forgotten with the pair', () => {
  let now = Date.parse('2026-11-27T05:00:00Z');
  const log = new AnswerLog(() => now);
  log.gratuitous({ address: '192.0.2.240', interface: 'eth0' });
  now += 1000;
  log.reply({ address: '192.0.2.240', interface: 'eth0' });
  log.reply({ address: '192.0.2.240', interface: 'eth0' });
  log.reply({ address: '2001:db8::f0', interface: 'eth1' });
  assert.deepEqual(log.list(), [
    { address: '192.0.2.240', interface: 'eth0', replies: 2, lastReplyAt: '2026-11-27T05:00:01.000Z', lastGratuitousAt: '2026-11-27T05:00:00.000Z', gratuitousSent: 1 },
    { address: '2001:db8::f0', interface: 'eth1', replies: 1, lastReplyAt: '2026-11-27T05:00:01.000Z', lastGratuitousAt: null, gratuitousSent: 0 },
  ]);
  log.retain([{ address: '192.0.2.240', interface: 'eth0' }]);
  assert.deepEqual(log.list().map((r) => r.address), ['192.0.2.240']);
});
