import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressLedger } from '../../../../src/core/ipam/address-ledger.js';
import { parseIp } from '../../../../src/core/ipam/address.js';
import { compilePool } from '../../../../src/core/ipam/compiled-pool.js';

const ip = (text: string): { family: 4 | 6; value: bigint } => {
  const p = parseIp(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};

describe('AddressLedger', () => {
  const setup = (): { ledger: AddressLedger; pool: ReturnType<typeof compilePool> } => {
    const pool = compilePool({ name: 'p', creationTimestamp: '2026-01-01T00:00:00Z', blocks: [{ start: '192.0.2.1', stop: '192.0.2.3' }] });
    return { ledger: new AddressLedger(() => [pool]), pool };
  };
  const a1 = ip('192.0.2.1');

  it('keeps holders, their addresses, the pool count and the allocator in step; frees with the last holder', () => {
    const { ledger, pool } = setup();
    ledger.addHolder('ns/a', 'k', a1.family, a1.value, 'p');
    ledger.addHolder('ns/b', 'k', a1.family, a1.value, 'p');
    assert.equal(ledger.usedIn('p'), 1, 'a shared address counts once');
    assert.equal(pool.allocator.lowestFree(4), ip('192.0.2.2').value);
    assert.deepEqual(ledger.sharingKeyOwners('k').map((o) => o.text), ['192.0.2.1']);
    const owner = ledger.owner(a1.family, a1.value);
    assert.ok(owner);
    assert.equal(ledger.removeHolder('ns/a', owner), false);
    assert.equal(ledger.removeHolder('ns/b', owner), true);
    assert.equal(ledger.usedIn('p'), 0);
    assert.deepEqual(ledger.heldBy('ns/b'), []);
    assert.deepEqual(ledger.sharingKeyOwners('k'), []);
    assert.equal(pool.allocator.lowestFree(4), a1.value);
  });

  it('a named address stays out of automatic allocation until nobody names or holds it', () => {
    const { ledger, pool } = setup();
    assert.equal(ledger.setRequests('ns/web', [a1]), false);
    assert.equal(pool.allocator.lowestFree(4), ip('192.0.2.2').value);
    ledger.addHolder('ns/web', undefined, a1.family, a1.value, 'p');
    assert.equal(ledger.setRequests('ns/web', []), false, 'still held: nothing freed');
    assert.equal(pool.allocator.lowestFree(4), ip('192.0.2.2').value);
    ledger.setRequests('ns/web', [a1]);
    const owner = ledger.owner(a1.family, a1.value);
    assert.ok(owner);
    ledger.removeHolder('ns/web', owner);
    assert.equal(pool.allocator.lowestFree(4), ip('192.0.2.2').value, 'released, but still named');
    assert.equal(ledger.setRequests('ns/web', []), true, 'now free');
    assert.equal(pool.allocator.lowestFree(4), a1.value);
  });

  it('occupy() marks what is held and named in a pool that arrives later', () => {
    const { ledger } = setup();
    ledger.addHolder('ns/a', undefined, a1.family, a1.value, 'p');
    ledger.setRequests('ns/b', [ip('192.0.2.2')]);
    const later = compilePool({ name: 'q', creationTimestamp: '2026-01-01T00:00:01Z', blocks: [{ cidr: '192.0.2.0/30' }] });
    ledger.occupy(later);
    assert.equal(later.allocator.lowestFree(4), ip('192.0.2.0').value);
    assert.equal(later.allocator.used, 2);
  });

  it('moveToPool counts the address against its new pool', () => {
    const { ledger } = setup();
    const o = ledger.addHolder('ns/a', undefined, a1.family, a1.value, 'p');
    ledger.moveToPool(o, 'q');
    assert.deepEqual([ledger.usedIn('p'), ledger.usedIn('q')], [0, 1]);
    assert.equal(ledger.assignments()[0]?.pool, 'q');
  });
});
