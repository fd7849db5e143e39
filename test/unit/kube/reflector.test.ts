/**
 * Reflector.restart() against a scripted transport: the current attempt is
 * abandoned and the watch resumes at once from the last resourceVersion,
 * without a re-list, an error or a backoff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Reflector } from '../../../src/kube/reflector.js';
import type { KubeTransport } from '../../../src/kube/transport.js';
import { silentLogger } from '../../../src/log.js';

interface Obj { metadata?: { name?: string; resourceVersion?: string } }

/** Lists one object at rv 10; each watch is a stream that stays open until aborted, unless `failWatches` says otherwise. */
function scripted(): { transport: KubeTransport; watches: string[]; streams: PassThrough[]; failWatches: { n: number } } {
  const watches: string[] = [];
  const streams: PassThrough[] = [];
  const failWatches = { n: 0 };
  const transport = {
    json: () => Promise.resolve({ items: [{ metadata: { name: 'a', resourceVersion: '5' } }], metadata: { resourceVersion: '10' } }),
    open: (path: string, opts: { signal?: AbortSignal }) => {
      watches.push(path);
      if (failWatches.n > 0) {
        failWatches.n--;
        return Promise.reject(new Error('connection refused'));
      }
      const res = Object.assign(new PassThrough(), { statusCode: 200 });
      opts.signal?.addEventListener('abort', () => { res.destroy(new Error('aborted')); }, { once: true });
      streams.push(res);
      return Promise.resolve(res as unknown as IncomingMessage);
    },
  } as unknown as KubeTransport;
  return { transport, watches, streams, failWatches };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('restart() abandons a quiet watch and resumes from the last resourceVersion at once', async () => {
  const t = scripted();
  const r = new Reflector<Obj>({ transport: t.transport, path: '/api/v1/things', log: silentLogger });
  r.start();
  await r.waitSynced();
  await until('the first watch', () => t.streams.length === 1);
  t.streams[0]?.write(`${JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '11' } } })}\n`);
  await until('the event', () => r.lastResourceVersion === '11');
  r.restart('test: the watch went quiet');
  await until('the second watch', () => t.watches.length === 2);
  assert.match(t.watches[1] ?? '', /resourceVersion=11/);
  assert.deepEqual({ ...r.stats }, { lists: 1, watches: 2, relistsOnGone: 0, watchdogFires: 0, restarts: 1, errors: 0 });
  assert.equal(r.get('a')?.metadata?.resourceVersion, '11');
  await r.stop();
});

test('restart() cuts a backoff short', async () => {
  const t = scripted();
  t.failWatches.n = 1;
  const r = new Reflector<Obj>({ transport: t.transport, path: '/api/v1/things', log: silentLogger, backoff: { initialMs: 60_000, maxMs: 60_000 } });
  r.start();
  await r.waitSynced();
  await until('the failed watch', () => t.watches.length === 1 && r.stats.errors === 1);
  r.restart('test');
  await until('a watch long before the backoff ends', () => t.streams.length === 1);
  assert.equal(r.stats.lists, 1);
  await r.stop();
});
