import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WaitingRoom } from '../../../../src/core/ipam/waiting-room.js';

describe('WaitingRoom', () => {
  it('indexes waiting Services by what could unblock them, and forgets them entirely when they leave', () => {
    const w = new WaitingRoom();
    w.wait('ns/a', 'dns', true);
    w.wait('ns/b', undefined, false);
    assert.deepEqual([...w.all()].sort(), ['ns/a', 'ns/b']);
    assert.deepEqual([...w.forAddress()], ['ns/a']);
    assert.deepEqual([...w.withSharingKey('dns')], ['ns/a']);
    // Waiting again for another reason replaces the old one.
    w.wait('ns/a', 'web', false);
    assert.deepEqual([...w.forAddress()], []);
    assert.deepEqual([...w.withSharingKey('dns')], []);
    assert.deepEqual([...w.withSharingKey('web')], ['ns/a']);
    w.leave('ns/a');
    w.leave('ns/b');
    assert.deepEqual([...w.all()], []);
    assert.deepEqual([...w.withSharingKey('web')], []);
  });
});
