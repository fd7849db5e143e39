import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIp } from '../../../../src/core/ipam/address.js';
import { compilePool } from '../../../../src/core/ipam/compiled-pool.js';
import { IpamState } from '../../../../src/core/ipam/ipam-state.js';
import { deriveRequest } from '../../../../src/core/ipam/service-request.js';
import { sharingIncompatibility } from '../../../../src/core/ipam/sharing.js';
import type { PoolSpec, ServiceSpec } from '../../../../src/core/ipam/types.js';

// A small universe so that collisions, exhaustion and sharing actually happen.
const poolArb: fc.Arbitrary<PoolSpec> = fc.record({
  name: fc.constantFrom('p1', 'p2', 'p3'),
  creationTimestamp: fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
  blocks: fc.array(
    fc.oneof(
      fc.constantFrom({ cidr: '192.0.2.0/30' }, { cidr: '192.0.2.4/31' }, { cidr: '2001:db8::/126' }),
      fc.record({ start: fc.constantFrom('192.0.2.1', '192.0.2.6', '2001:db8::2'), stop: fc.constantFrom(undefined, '192.0.2.9') }).map((b) =>
        b.stop === undefined || b.start.includes(':') ? { start: b.start } : b,
      ),
    ),
    { minLength: 1, maxLength: 3 },
  ),
  serviceSelector: fc.constantFrom(
    undefined,
    { matchLabels: { color: 'blue' } },
    { matchExpressions: [{ key: 'color', operator: 'NotIn', values: ['blue'] }] },
    { matchExpressions: [{ key: 'color', operator: 'Bogus' }] },
  ),
  disabled: fc.constantFrom(undefined, true),
  allowFirstLastIPs: fc.constantFrom(undefined, 'No'),
});

const serviceArb: fc.Arbitrary<ServiceSpec> = fc
  .record({
    name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    namespace: fc.constantFrom('default', 'other'),
    creationTimestamp: fc.constantFrom('2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z'),
    type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'LoadBalancer', 'ClusterIP'),
    color: fc.constantFrom(undefined, 'blue', 'red'),
    ips: fc.constantFrom(undefined, '192.0.2.1', '192.0.2.2,2001:db8::1', '192.0.2.7'),
    key: fc.constantFrom(undefined, 'k1', 'k2'),
    cross: fc.constantFrom(undefined, '*'),
    port: fc.constantFrom(80, 81, 82),
    etp: fc.constantFrom(undefined, 'Local'),
    policy: fc.constantFrom(undefined, 'PreferDualStack', 'RequireDualStack'),
    v6first: fc.boolean(),
  })
  .map((r): ServiceSpec => {
    const annotations: Record<string, string> = {};
    if (r.ips !== undefined) annotations['lbipam.cilium.io/ips'] = r.ips;
    if (r.key !== undefined) annotations['lbipam.cilium.io/sharing-key'] = r.key;
    if (r.cross !== undefined) annotations['lbipam.cilium.io/sharing-cross-namespace'] = r.cross;
    return {
      namespace: r.namespace,
      name: r.name,
      creationTimestamp: r.creationTimestamp,
      type: r.type,
      labels: r.color === undefined ? {} : { color: r.color },
      annotations,
      ports: [{ port: r.port }],
      selector: { app: 'x' },
      ...(r.etp === undefined ? {} : { externalTrafficPolicy: r.etp }),
      ...(r.policy === undefined ? {} : { ipFamilyPolicy: r.policy }),
      ipFamilies: r.v6first ? ['IPv6', 'IPv4'] : ['IPv4', 'IPv6'],
    };
  });

type Op =
  | { readonly op: 'pool'; readonly spec: PoolSpec }
  | { readonly op: 'deletePool'; readonly name: string }
  | { readonly op: 'service'; readonly spec: ServiceSpec }
  | { readonly op: 'deleteService'; readonly namespace: string; readonly name: string }
  | { readonly op: 'reconcile' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  poolArb.map((spec) => ({ op: 'pool' as const, spec })),
  fc.constantFrom('p1', 'p2', 'p3').map((name) => ({ op: 'deletePool' as const, name })),
  serviceArb.map((spec) => ({ op: 'service' as const, spec })),
  serviceArb.map((s) => ({ op: 'deleteService' as const, namespace: s.namespace, name: s.name })),
  fc.constant({ op: 'reconcile' as const }),
);

function checkInvariants(state: IpamState, pools: Map<string, PoolSpec>, services: Map<string, ServiceSpec>): void {
  const held = new Map<string, string[]>();
  for (const a of state.assignments()) {
    // Counted against a pool that selects every holder (or whose selector is invalid).
    const spec = pools.get(a.pool);
    assert.ok(spec !== undefined, `${a.ip} counts against missing pool ${a.pool}`);
    const pool = compilePool(spec);
    const parsed = parseIp(a.ip);
    assert.ok(parsed.ok);
    // Inside its blocks (first and last included: allowFirstLastIPs only stops new allocations),
    // or kept by a pool whose spec is invalid, which keeps what it has until fixed.
    const { family, value } = parsed.value;
    const inBlocks = pool.blocks.some((b) => b.range.family === family && b.range.start <= value && value <= b.range.end);
    assert.ok(inBlocks || pool.problems.length > 0, `${a.ip} outside pool ${a.pool}`);
    const requests = a.services.map((key) => {
      const svc = services.get(key);
      assert.ok(svc !== undefined, `${a.ip} held by unknown ${key}`);
      return deriveRequest(key, svc);
    });
    for (const r of requests) {
      assert.ok(pool.selects === undefined || pool.selects(r.selectorLabels), `${a.ip}: pool ${a.pool} does not select ${r.key}`);
      held.set(r.key, [...(held.get(r.key) ?? []), a.ip]);
    }
    // Never two Services on one address unless they may share it.
    for (let i = 0; i < requests.length; i++) {
      for (let j = i + 1; j < requests.length; j++) {
        assert.equal(sharingIncompatibility(requests[i]!, requests[j]!), undefined, `${a.ip} shared illegally`);
      }
    }
  }
  // Decisions agree with the assignments.
  for (const [key, svc] of services) {
    const d = state.decision(svc.namespace, svc.name);
    if (svc.type !== 'LoadBalancer') {
      assert.equal(d, undefined);
      assert.equal(held.get(key), undefined);
      continue;
    }
    assert.ok(d !== undefined);
    assert.deepEqual([...d.ips].sort(), [...(held.get(key) ?? [])].sort());
    if (d.condition?.status === 'True') assert.ok(d.ips.length > 0);
  }
}

describe('IpamState properties', () => {
  it('never double-assigns, keeps every address inside a selecting pool, and reconcile is idempotent', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const state = new IpamState();
        const pools = new Map<string, PoolSpec>();
        const services = new Map<string, ServiceSpec>();
        for (const o of [...ops, { op: 'reconcile' as const }]) {
          switch (o.op) {
            case 'pool':
              pools.set(o.spec.name, o.spec);
              state.upsertPool(o.spec);
              break;
            case 'deletePool':
              pools.delete(o.name);
              state.deletePool(o.name);
              break;
            case 'service':
              services.set(`${o.spec.namespace}/${o.spec.name}`, o.spec);
              state.upsertService(o.spec);
              break;
            case 'deleteService':
              services.delete(`${o.namespace}/${o.name}`);
              state.deleteService(o.namespace, o.name);
              break;
            case 'reconcile':
              state.reconcile();
              checkInvariants(state, pools, services);
              assert.deepEqual(state.reconcile(), { services: [], pools: [], events: [] }, 'second reconcile changed something');
              break;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('incremental reconciles miss nothing: a from-scratch reconcile from the same assignments changes nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const state = new IpamState();
        const pools = new Map<string, PoolSpec>();
        const services = new Map<string, ServiceSpec>();
        for (const o of ops) {
          if (o.op === 'pool') {
            pools.set(o.spec.name, o.spec);
            state.upsertPool(o.spec);
          } else if (o.op === 'deletePool') {
            pools.delete(o.name);
            state.deletePool(o.name);
          } else if (o.op === 'service') {
            services.set(`${o.spec.namespace}/${o.spec.name}`, o.spec);
            state.upsertService(o.spec);
          } else if (o.op === 'deleteService') {
            services.delete(`${o.namespace}/${o.name}`);
            state.deleteService(o.namespace, o.name);
          } else {
            state.reconcile();
          }
        }
        state.reconcile();
        // A fresh replica adopts the same addresses, then reconciles everything.
        const fresh = new IpamState();
        for (const p of pools.values()) fresh.upsertPool(p);
        for (const v of services.values()) fresh.upsertService(v);
        const entries = [...services.values()].map((v) => ({ namespace: v.namespace, name: v.name, ips: state.decision(v.namespace, v.name)?.ips ?? [] }));
        const report = fresh.importAssignments(entries);
        assert.deepEqual(report.rejected, []);
        fresh.reconcile();
        for (const v of services.values()) {
          const a = state.decision(v.namespace, v.name);
          const b = fresh.decision(v.namespace, v.name);
          assert.deepEqual([b?.ips, b?.condition?.reason], [a?.ips, a?.condition?.reason], `${v.namespace}/${v.name}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('two replicas fed the same objects in different orders reach the same assignments', () => {
    fc.assert(
      fc.property(fc.uniqueArray(poolArb, { selector: (p) => p.name, maxLength: 3 }), fc.uniqueArray(serviceArb, { selector: (s) => `${s.namespace}/${s.name}`, maxLength: 8 }), (pools, services) => {
        const run = (ps: PoolSpec[], ss: ServiceSpec[]) => {
          const state = new IpamState();
          for (const p of ps) state.upsertPool(p);
          for (const s of ss) state.upsertService(s);
          state.reconcile();
          return state.assignments().sort((a, b) => (a.ip < b.ip ? -1 : 1));
        };
        assert.deepEqual(run(pools, services), run([...pools].reverse(), [...services].reverse()));
      }),
      { numRuns: 200 },
    );
  });
});
