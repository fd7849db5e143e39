import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';
import { KubeApiError } from '../../../src/kube/transport.js';

/** A logger built as herald builds it, writing into memory; returns the parsed lines. */
function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString('utf8')); done(); },
  });
  const log = createLogger('info', sink);
  return {
    log,
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

type Serialized = { type?: string; message?: string; stack?: string; cause?: Serialized; [k: string]: unknown };

test('an Error logged as { err } keeps its type, message, stack and cause chain, in a child logger too', () => {
  const { log, lines } = capture();
  const root = new Error('connect ECONNREFUSED 10.0.0.1:6443');
  const middle = new TypeError('fetch failed', { cause: root });
  const outer = new Error('list/watch of /api/v1/services failed', { cause: middle });
  log.child({ component: 'operator' }).warn({ err: outer, path: '/api/v1/services', retryInMs: 200 }, 'list/watch failed; retrying');

  const [line] = lines();
  assert.ok(line);
  assert.equal(line.msg, 'list/watch failed; retrying');
  assert.equal(line.path, '/api/v1/services');
  assert.equal(line.retryInMs, 200);
  assert.equal(line.component, 'operator');
  const err = line.err as Serialized;
  assert.equal(err.type, 'Error');
  assert.equal(err.message, 'list/watch of /api/v1/services failed');
  assert.ok(err.stack?.startsWith('Error: list/watch of /api/v1/services failed\n    at '), err.stack);
  assert.match(err.stack ?? '', /log\.test\.js/);
  assert.equal(err.cause?.type, 'TypeError');
  assert.equal(err.cause.message, 'fetch failed');
  assert.ok(err.cause.stack?.startsWith('TypeError: fetch failed\n    at '));
  assert.equal(err.cause.cause?.type, 'Error');
  assert.equal(err.cause.cause.message, 'connect ECONNREFUSED 10.0.0.1:6443');
  assert.ok(err.cause.cause.stack?.includes('ECONNREFUSED'));
  assert.equal(err.cause.cause.cause, undefined);
});

test('an error\'s own fields are kept (a KubeApiError\'s status and reason)', () => {
  const { log, lines } = capture();
  log.warn({ err: new KubeApiError(409, 'Conflict', 'the object has been modified', 'PUT', '/apis/x') }, 'write failed');
  const err = lines()[0]?.err as Serialized;
  assert.equal(err.type, 'KubeApiError');
  assert.equal(err.status, 409);
  assert.equal(err.reason, 'Conflict');
  assert.equal(err.message, 'PUT /apis/x: 409 Conflict: the object has been modified');
  assert.ok(err.stack?.startsWith('KubeApiError: PUT /apis/x'));
});

test('a thrown value that is not an Error is still written', () => {
  const { log, lines } = capture();
  log.warn({ err: 'socket hang up' }, 'thrown string');
  log.warn({ err: { code: 'EBUSY' } }, 'thrown object');
  log.warn({ err: 42 }, 'thrown number');
  const [a, b, c] = lines();
  assert.equal(a?.err, 'socket hang up');
  assert.deepEqual(b?.err, { code: 'EBUSY' });
  assert.equal(c?.err, 42);
});
