import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/cli/command.js';
import { envName, parse, parseSettings } from '../../../src/cli/settings.js';

const defs = {
  'lease-namespace': { description: 'ns', default: 'kube-system', parse: parse.string },
  'renew-deadline': { description: 'd', default: 10_000, parse: parse.duration },
  'metrics-port': { description: 'p', default: 9963, parse: parse.port },
  'classes': { description: 'c', default: ['io.cilium/l2-announcer'], parse: parse.list },
};

test('defaults, environment and flags, the flag winning', () => {
  assert.deepEqual(parseSettings(defs, [], {}), {
    'lease-namespace': 'kube-system', 'renew-deadline': 10_000, 'metrics-port': 9963, classes: ['io.cilium/l2-announcer'],
  });
  const env = { HERALD_LEASE_NAMESPACE: 'herald', HERALD_RENEW_DEADLINE: '2s' };
  const v = parseSettings(defs, ['--renew-deadline=750ms', '--classes', 'a, b,'], env);
  assert.equal(v['lease-namespace'], 'herald');
  assert.equal(v['renew-deadline'], 750);
  assert.deepEqual(v.classes, ['a', 'b']);
});

test('a bad value names its source and says what is expected', () => {
  assert.throws(() => parseSettings(defs, ['--metrics-port=http'], {}), (err: unknown) =>
    err instanceof UsageError && err.message === '--metrics-port="http": must be a port number from 0 to 65535');
  assert.throws(() => parseSettings(defs, [], { HERALD_RENEW_DEADLINE: 'soon' }), (err: unknown) =>
    err instanceof UsageError && err.message.startsWith('HERALD_RENEW_DEADLINE="soon": must be a duration'));
});

test('an unknown flag is a usage error', () => {
  assert.throws(() => parseSettings(defs, ['--lease-namepsace=x'], {}), (err: unknown) =>
    err instanceof UsageError && /lease-namepsace/.test(err.message));
});

test('durations', () => {
  assert.equal(parse.duration('2s'), 2000);
  assert.equal(parse.duration('1.5s'), 1500);
  assert.equal(parse.duration('1m'), 60_000);
  assert.equal(parse.duration('250'), 250);
  assert.throws(() => parse.duration('0s'), /more than zero/);
  assert.throws(() => parse.duration('-1s'), /duration/);
  assert.equal(envName('renew-deadline'), 'HERALD_RENEW_DEADLINE');
});
