/**
 * LB-IPAM allocator benchmark: allocate and release 100,000 addresses in pools
 * of very different sizes, to show that time and memory depend on the number
 * of addresses in use, not on the pool size. Run with --expose-gc:
 *   npm run build && npm run bench:ipam
 */
import { parseCidr } from '../src/core/ipam/address.js';
import { IpamState } from '../src/core/ipam/ipam-state.js';
import { RangeAllocator } from '../src/core/ipam/range-allocator.js';
import type { ServiceSpec } from '../src/core/ipam/types.js';
import { median } from './stats.js';

const N = 100_000;
const RUNS = 5;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const collect: () => void = gc;

function heapMiB(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function mib(n: number): string {
  return Math.max(0, n).toFixed(1);
}

/** Deterministic shuffle (xorshift32) so every run releases in the same random order. */
function shuffled(values: bigint[]): bigint[] {
  let seed = 0x9e3779b9;
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const j = (seed >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as bigint, out[i] as bigint];
  }
  return out;
}

interface Sample {
  allocPerSec: number;
  releasePerSec: number;
  churnPerSec: number;
  heapHeldMiB: number;
  heapAfterMiB: number;
}

function runOnce(cidr: string): Sample {
  const parsed = parseCidr(cidr);
  if (!parsed.ok) throw new Error(parsed.error);
  const { family, start, end } = parsed.value;
  // The benchmark's own list of taken addresses is sized before the baseline, so the heap figure is the allocator's.
  const taken: bigint[] = new Array<bigint>(N).fill(0n);
  const base = heapMiB();
  const alloc = new RangeAllocator([{ family, start, end }]);

  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const v = alloc.lowestFree(family);
    if (v === undefined || !alloc.take(family, v)) throw new Error('pool exhausted');
    taken[i] = v;
  }
  const allocMs = performance.now() - t;
  const heapHeld = heapMiB() - base;

  // Release half in random order, then allocate them again (lowest-free from holes).
  const order = shuffled(taken);
  t = performance.now();
  for (let i = 0; i < N / 2; i++) alloc.release(family, order[i] as bigint);
  for (let i = 0; i < N / 2; i++) {
    const v = alloc.lowestFree(family);
    if (v === undefined) throw new Error('pool exhausted');
    alloc.take(family, v);
  }
  const churnMs = performance.now() - t;

  t = performance.now();
  for (const v of order) alloc.release(family, v);
  const releaseMs = performance.now() - t;
  if (alloc.used !== 0) throw new Error('leak');
  const heapAfter = heapMiB() - base;
  return {
    allocPerSec: N / (allocMs / 1000),
    releasePerSec: N / (releaseMs / 1000),
    churnPerSec: N / (churnMs / 1000),
    heapHeldMiB: heapHeld,
    heapAfterMiB: heapAfter,
  };
}


const BIG_POOL = { name: 'big', creationTimestamp: '2026-01-01T00:00:00Z', blocks: [{ cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/64' }] };

function spec(i: number): ServiceSpec {
  return {
    namespace: `ns${i % 50}`,
    name: `svc${i}`,
    creationTimestamp: `2026-02-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
    type: 'LoadBalancer',
    labels: { app: `a${i % 7}` },
    ports: [{ port: 80 }],
    ...(i % 3 === 0 ? { ipFamilyPolicy: 'PreferDualStack' } : {}),
  };
}

function endToEnd(services: number): { fullMs: number; incrementalMs: number } {
  const state = new IpamState();
  state.upsertPool(BIG_POOL);
  let t = performance.now();
  for (let i = 0; i < services; i++) state.upsertService(spec(i));
  const r = state.reconcile();
  const fullMs = performance.now() - t;
  if (r.services.some((d) => d.condition?.reason !== 'satisfied')) throw new Error('unsatisfied');
  t = performance.now();
  for (let i = 0; i < 100; i++) {
    state.upsertService(spec(services + i));
    state.reconcile();
  }
  return { fullMs, incrementalMs: (performance.now() - t) / 100 };
}

const pools: [string, string][] = [
  ['IPv4 /15 (131,072 addresses, just fits)', '10.0.0.0/15'],
  ['IPv4 /8 (16.8 M addresses)', '10.0.0.0/8'],
  ['IPv6 /64 (1.8e19 addresses)', '2001:db8::/64'],
];

console.log(`node ${process.version}, ${N.toLocaleString('en')} addresses per run, median of ${RUNS} runs`);
console.log('| pool | alloc/s | release/s (random order) | churn ops/s | heap holding 100k (MiB) | heap after release (MiB) |');
console.log('|---|---:|---:|---:|---:|---:|');
// Interleave pools run by run so machine load and JIT state affect them alike.
for (const [, cidr] of pools) runOnce(cidr); // warm-up
const samples = new Map<string, Sample[]>(pools.map(([label]) => [label, []]));
for (let run = 0; run < RUNS; run++) {
  for (const [label, cidr] of pools) samples.get(label)?.push(runOnce(cidr));
}
for (const [label] of pools) {
  const mine = samples.get(label) ?? [];
  const m = (f: (s: Sample) => number): number => median(mine.map(f));
  const k = (n: number): string => Math.round(n).toLocaleString('en');
  console.log(
    `| ${label} | ${k(m((s) => s.allocPerSec))} | ${k(m((s) => s.releasePerSec))} | ${k(m((s) => s.churnPerSec))} | ${mib(m((s) => s.heapHeldMiB))} | ${mib(m((s) => s.heapAfterMiB))} |`,
  );
}
/** The worst adapter pattern: one reconcile per watch event, Services listed before the pool. */
function eventByEvent(services: number): { servicesMs: number; poolMs: number; exhaustedReleaseMs: number } {
  const state = new IpamState();
  let t = performance.now();
  for (let i = 0; i < services; i++) {
    state.upsertService(spec(i));
    state.reconcile();
  }
  const servicesMs = performance.now() - t;
  t = performance.now();
  state.upsertPool(BIG_POOL);
  const r = state.reconcile();
  const poolMs = performance.now() - t;
  if (r.services.length !== services || r.services.some((d) => d.condition?.reason !== 'satisfied')) throw new Error('unsatisfied');
  // An exhausted pool with 1,000 Services waiting; delete Services one event at a time.
  const small = new IpamState();
  small.upsertPool({ name: 'small', creationTimestamp: '2026-01-01T00:00:00Z', blocks: [{ cidr: '10.0.0.0/20' }] });
  for (let i = 0; i < 4096 + 1000; i++) small.upsertService({ ...spec(i), ipFamilyPolicy: 'SingleStack' });
  small.reconcile();
  t = performance.now();
  for (let i = 0; i < 100; i++) {
    const s = spec(i);
    small.deleteService(s.namespace, s.name);
    small.reconcile();
  }
  return { servicesMs, poolMs, exhaustedReleaseMs: (performance.now() - t) / 100 };
}

const e2e = Array.from({ length: 3 }, () => endToEnd(5000));
console.log(
  `IpamState: 5,000 Services upserted + first reconcile: ${median(e2e.map((e) => e.fullMs)).toFixed(0)} ms; ` +
    `then one new Service + reconcile: ${median(e2e.map((e) => e.incrementalMs)).toFixed(2)} ms`,
);
const events = Array.from({ length: 3 }, () => eventByEvent(5000));
console.log(
  `IpamState, one reconcile per event: 5,000 Services before any pool: ${median(events.map((e) => e.servicesMs)).toFixed(0)} ms; ` +
    `then the pool arrives and all are satisfied: ${median(events.map((e) => e.poolMs)).toFixed(0)} ms; ` +
    `1,000 waiting on a full /20, one deletion + reconcile: ${median(events.map((e) => e.exhaustedReleaseMs)).toFixed(2)} ms`,
);
