/** Endpoint syntax of the management-link forwarder. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEndpoint, parseEndpoint } from '../../../harness/unix-forwarder.js';

test('tcp and unix endpoints round-trip', () => {
  assert.deepEqual(parseEndpoint('tcp:127.0.0.1:6443'), { kind: 'tcp', host: '127.0.0.1', port: 6443 });
  assert.deepEqual(parseEndpoint('unix:/tmp/x/api.sock'), { kind: 'unix', path: '/tmp/x/api.sock' });
  for (const e of ['tcp:127.0.0.1:6443', 'unix:/tmp/x/api.sock']) assert.equal(formatEndpoint(parseEndpoint(e)), e);
});

test('anything else is refused', () => {
  assert.throws(() => parseEndpoint('127.0.0.1:6443'), /not an endpoint/);
  assert.throws(() => parseEndpoint('tcp:127.0.0.1'), /not an endpoint/);
});
