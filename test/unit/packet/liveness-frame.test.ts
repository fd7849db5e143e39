import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { LanMessage } from '../../../src/core/l2/lan-messages.js';
import { mutatedFrames } from '../../support/frame-mutations.js';
import type { LivenessFrame } from '../../../src/packet/liveness-frame.js';
import { LIVENESS_ETHERTYPE, decodeLivenessFrame, encodeLivenessFrame } from '../../../src/packet/liveness-frame.js';

const A = '02:48:52:00:01:00';
const B = '02:48:52:00:02:00';
const C = '02:48:52:00:03:00';

const samples: LanMessage[] = [
  { kind: 'hello', seq: 0 },
  { kind: 'hello', seq: 0xffffffff },
  { kind: 'probe', nonce: 7, target: 'node-b' },
  { kind: 'ack', nonce: 0x80000001 },
  { kind: 'probe-req', nonce: 42, target: 'node-c.rack-2.example', targetMac: C },
  { kind: 'probe-res', nonce: 42, target: 'node-c', alive: true },
  { kind: 'probe-res', nonce: 43, target: 'node-c', alive: false },
  { kind: 'down', nonce: 44, target: 'node-c' },
  { kind: 'pause', graceMs: 10_000 },
  { kind: 'pause', graceMs: 0 },
];

function frame(msg: LanMessage, from = 'node-a'): Buffer {
  return encodeLivenessFrame({ dstMac: B, srcMac: A, from, msg });
}

function decodeError(f: Buffer): string {
  const d = decodeLivenessFrame(f);
  assert.ok(!d.ok, `expected a failure, decoded ${JSON.stringify(d.ok ? d.value : undefined)}`);
  return d.error;
}

/** A frame built by hand: the fixed header, then `rest` exactly as given, no padding. */
function raw(type: number, rest: number[], opts: { magic?: number; version?: number; src?: string } = {}): Buffer {
  const head = Buffer.alloc(23);
  Buffer.from(B.replaceAll(':', ''), 'hex').copy(head, 0);
  Buffer.from((opts.src ?? A).replaceAll(':', ''), 'hex').copy(head, 6);
  head.writeUInt16BE(LIVENESS_ETHERTYPE, 12);
  head.writeUInt16BE(opts.magic ?? 0x4852, 14);
  head[16] = opts.version ?? 1;
  head[17] = type;
  head.writeUInt32BE(5, 18);
  return Buffer.concat([head, Buffer.from(rest)]);
}

const name = (s: string) => [s.length, ...Buffer.from(s)];

describe('liveness frame', () => {
  it('round-trips every message kind, with the layout of the contract', () => {
    for (const msg of samples) {
      const f = frame(msg);
      assert.ok(f.length >= 60, 'padded to the Ethernet minimum');
      assert.equal(f.readUInt16BE(12), 0x88b5);
      assert.equal(f.subarray(14, 16).toString('latin1'), 'HR');
      assert.equal(f[16], 1);
      const d = decodeLivenessFrame(f);
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, { dstMac: B, srcMac: A, from: 'node-a', msg });
    }
  });

  it('lays out a probe-req byte by byte', () => {
    const f = frame({ kind: 'probe-req', nonce: 0x01020304, target: 'c', targetMac: C });
    assert.deepEqual([...f.subarray(14, 38)], [
      0x48, 0x52, 1, 4, 1, 2, 3, 4, 0,
      6, ...Buffer.from('node-a'),
      1, 0x63,
      0x02, 0x48, 0x52, 0x00, 0x03, 0x00,
    ]);
    assert.ok(f.subarray(38).every((b) => b === 0), 'zero padding');
    assert.equal(frame({ kind: 'probe-res', nonce: 1, target: 'c', alive: true })[22], 1, 'alive flag');
    assert.equal(frame({ kind: 'probe-res', nonce: 1, target: 'c', alive: false })[22], 0);
  });

  it('carries names up to 253 bytes, UTF-8 included, and frames longer than the minimum', () => {
    const long = 'n'.repeat(253);
    const msg: LanMessage = { kind: 'probe-req', nonce: 1, target: long, targetMac: C };
    const f = frame(msg, long);
    assert.equal(f.length, 14 + 9 + 254 + 254 + 6);
    const d = decodeLivenessFrame(f);
    assert.ok(d.ok);
    assert.deepEqual(d.value.msg, msg);
    const u = decodeLivenessFrame(frame({ kind: 'hello', seq: 1 }, 'nœud-é'));
    assert.ok(u.ok);
    assert.equal(u.value.from, 'nœud-é');
    const bom = decodeLivenessFrame(frame({ kind: 'hello', seq: 1 }, '\ufeffx'));
    assert.ok(bom.ok);
    assert.equal(bom.value.from, '\ufeffx', 'a leading BOM is part of the name, not stripped');
  });

  it('ignores trailing bytes and reserved flag bits', () => {
    const f = Buffer.concat([frame({ kind: 'ack', nonce: 9 }), Buffer.alloc(20, 0xab)]);
    assert.ok(decodeLivenessFrame(f).ok);
    const flagged = frame({ kind: 'probe-res', nonce: 1, target: 'c', alive: false });
    flagged[22] = 0xfe;
    const d = decodeLivenessFrame(flagged);
    assert.ok(d.ok);
    assert.deepEqual(d.value.msg, { kind: 'probe-res', nonce: 1, target: 'c', alive: false });
  });

  it('refuses to encode what is a programming error', () => {
    assert.throws(() => frame({ kind: 'hello', seq: 1 }, ''), /sender name must be 1\.\.253 bytes/);
    assert.throws(() => frame({ kind: 'hello', seq: 1 }, 'x'.repeat(254)), /got 254/);
    assert.throws(() => frame({ kind: 'hello', seq: 1 }, 'é'.repeat(127)), /got 254/, 'bytes, not characters');
    assert.throws(() => frame({ kind: 'probe', nonce: 1, target: '' }), /target name/);
    assert.throws(() => frame({ kind: 'hello', seq: -1 }), /seq -1 is not a uint32/);
    assert.throws(() => frame({ kind: 'ack', nonce: 2 ** 32 }), /nonce 4294967296 is not a uint32/);
    assert.throws(() => frame({ kind: 'ack', nonce: 1.5 }), /not a uint32/);
    assert.throws(() => encodeLivenessFrame({ dstMac: 'nope', srcMac: A, from: 'a', msg: { kind: 'ack', nonce: 1 } }), /destination MAC "nope"/);
    assert.throws(() => encodeLivenessFrame({ dstMac: B, srcMac: 'ff:ff:ff:ff:ff:ff', from: 'a', msg: { kind: 'ack', nonce: 1 } }), /not a unicast/);
    assert.throws(() => frame({ kind: 'probe-req', nonce: 1, target: 'c', targetMac: '00:00:00:00:00:00' }), /not a unicast/);
  });

  it('names each kind of malformed frame', () => {
    const hello = frame({ kind: 'hello', seq: 1 });
    const cases: [Buffer, string][] = [
      [hello.subarray(0, 10), 'liveness frame: truncated Ethernet header (10 bytes)'],
      [Buffer.concat([hello.subarray(0, 12), Buffer.from([0x08, 0x06]), hello.subarray(14)]), 'liveness frame: EtherType 0x0806, not 0x88b5'],
      [hello.subarray(0, 23), 'liveness frame: truncated header (23 bytes)'],
      [raw(1, [1, 0x61, 0], { src: '03:00:00:00:00:01' }), 'liveness frame: source MAC 03:00:00:00:00:01 is not a unicast address'],
      [raw(1, [1, 0x61, 0], { magic: 0x4853 }), 'liveness frame: bad magic 0x4853, not "HR"'],
      [raw(1, [1, 0x61, 0], { version: 7 }), 'liveness frame: unknown version 7'],
      [raw(0, [1, 0x61, 0]), 'liveness frame: unknown message type 0'],
      [raw(8, [1, 0x61, 0]), 'liveness frame: unknown message type 8'],
      [raw(1, [0, 0]), 'liveness frame: hello with an empty sender name'],
      [raw(1, [40, ...Buffer.from('abc')]), 'liveness frame: hello sender name length 40 runs past the end (27 bytes)'],
      [raw(1, [254, ...Buffer.alloc(254, 0x61), 0]), 'liveness frame: hello sender name length 254 exceeds 253'],
      [raw(1, name('a')), 'liveness frame: hello truncated before the target name (25 bytes)'],
      [raw(2, [...name('a'), 5, 0x62]), 'liveness frame: probe target name length 5 runs past the end (27 bytes)'],
      [raw(1, [...name('a'), ...name('b')]), 'liveness frame: hello must not name a target (got "b")'],
      [raw(3, [...name('a'), ...name('b')]), 'liveness frame: ack must not name a target (got "b")'],
      [raw(2, [...name('a'), 0]), 'liveness frame: probe without a target name'],
      [raw(4, [...name('a'), 0, 2, 0, 0, 0, 0, 1]), 'liveness frame: probe-req without a target name'],
      [raw(5, [...name('a'), 0]), 'liveness frame: probe-res without a target name'],
      [raw(4, [...name('a'), ...name('c'), 2, 0, 0]), 'liveness frame: probe-req truncated before the target MAC (30 bytes)'],
      [raw(4, [...name('a'), ...name('c'), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        'liveness frame: probe-req target MAC ff:ff:ff:ff:ff:ff is not a unicast address'],
      [raw(4, [...name('a'), ...name('c'), 0, 0, 0, 0, 0, 0]), 'liveness frame: probe-req target MAC 00:00:00:00:00:00 is not a unicast address'],
      [raw(1, [2, 0xc3, 0x28, 0]), 'liveness frame: hello sender name is not valid UTF-8'],
      [raw(2, [...name('a'), 1, 0xff]), 'liveness frame: probe target name is not valid UTF-8'],
      [raw(3, [3, 0xed, 0xa0, 0x80, 0]), 'liveness frame: ack sender name is not valid UTF-8'], // an encoded surrogate
    ];
    for (const [f, message] of cases) assert.equal(decodeError(f), message);
  });

  it('decoding never throws, and anything it accepts encodes back to the same message', () => {
    const seeds = samples.map((m) => frame(m));
    // Keep the EtherType, or nearly every case stops at the first check.
    const mutated = mutatedFrames(seeds, new Set([12, 13]));
    const check = (f: Buffer) => {
      const d = decodeLivenessFrame(f);
      if (!d.ok) {
        assert.match(d.error, /^liveness frame: /);
        return;
      }
      const again = decodeLivenessFrame(encodeLivenessFrame(d.value));
      assert.ok(again.ok);
      assert.deepEqual(again.value, d.value);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), check), { numRuns: 5000 });
    fc.assert(fc.property(mutated, check), { numRuns: 20000 });
  });

  it('round-trips any valid field values', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 })
      .filter((a) => (a[0]! & 1) === 0 && a.some((b) => b !== 0))
      .map((a) => Buffer.from(a).toString('hex').replace(/(..)(?!$)/g, '$1:'));
    const nodeName = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 })
      .filter((s) => Buffer.from(s).toString() === s && Buffer.byteLength(s) <= 253);
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const msg: fc.Arbitrary<LanMessage> = fc.oneof(
      u32.map((seq) => ({ kind: 'hello' as const, seq })),
      fc.tuple(u32, nodeName).map(([nonce, target]) => ({ kind: 'probe' as const, nonce, target })),
      u32.map((nonce) => ({ kind: 'ack' as const, nonce })),
      fc.tuple(u32, nodeName, mac).map(([nonce, target, targetMac]) => ({ kind: 'probe-req' as const, nonce, target, targetMac })),
      fc.tuple(u32, nodeName, fc.boolean()).map(([nonce, target, alive]) => ({ kind: 'probe-res' as const, nonce, target, alive })),
    );
    fc.assert(fc.property(mac, mac, nodeName, msg, (dstMac, srcMac, from, m) => {
      const f: LivenessFrame = { dstMac, srcMac, from, msg: m };
      const d = decodeLivenessFrame(encodeLivenessFrame(f));
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, f);
    }), { numRuns: 2000 });
  });
});
