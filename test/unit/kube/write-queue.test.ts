import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteQueue } from '../../../src/kube/write-queue.js';
import { silentLogger } from '../../../src/log.js';

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('never more than `concurrency` writes in flight, and every key is written', async () => {
  const q = new WriteQueue(3, silentLogger);
  let inFlight = 0;
  let peak = 0;
  const done: string[] = [];
  for (let i = 0; i < 20; i++) {
    q.put(`k${i}`, async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick(2);
      inFlight--;
      done.push(`k${i}`);
    });
  }
  await q.idle();
  assert.equal(peak, 3);
  assert.equal(done.length, 20);
  assert.equal(q.stats.ok, 20);
});

test('a newer write for the same key replaces one not yet started, and waits for one running', async () => {
  const q = new WriteQueue(1, silentLogger);
  const log: string[] = [];
  let release: () => void = () => undefined;
  q.put('a', async () => { log.push('a1 start'); await new Promise<void>((r) => { release = r; }); log.push('a1 end'); });
  q.put('a', () => { log.push('a2'); return Promise.resolve(); });
  q.put('a', () => { log.push('a3'); return Promise.resolve(); });
  await tick();
  assert.deepEqual(log, ['a1 start'], 'a second write for a running key must wait');
  release();
  await q.idle();
  assert.deepEqual(log, ['a1 start', 'a1 end', 'a3']);
});

test('a failed write is retried until it succeeds; forget() drops it', async () => {
  const q = new WriteQueue(2, silentLogger);
  let attempts = 0;
  q.put('flaky', () => (++attempts < 3 ? Promise.reject(new Error('503')) : Promise.resolve()));
  await q.idle();
  assert.equal(attempts, 3);
  assert.equal(q.stats.failed, 2);

  let doomed = 0;
  q.put('gone', () => { doomed++; return Promise.reject(new Error('403')); });
  await tick(20);
  q.forget('gone');
  await q.idle();
  const after = doomed;
  await tick(600);
  assert.equal(doomed, after, 'a forgotten key was retried');
});

test('without retry, a failed write is dropped', async () => {
  const q = new WriteQueue(1, silentLogger, undefined, false);
  let attempts = 0;
  q.put('once', () => { attempts++; return Promise.reject(new Error('nope')); });
  await q.idle();
  await tick(300);
  assert.equal(attempts, 1);
});
