/**
 * The deterministic cluster simulator's command line.
 *
 *   node dist/sim/main.js check [--from 1] [--count 1000] [--nodes 3-50] [--workers 2]
 *   node dist/sim/main.js replay --seed S
 *   node dist/sim/main.js scale [--nodes 3,10,30,100,300,1000] [--services 10000]
 *
 * check runs seeded random fault schedules and exits 1 if any invariant is
 * broken, printing each failing seed's schedule, its violations, the
 * command that replays it, and the first one's trace. replay prints one
 * run's full trace. scale prints the cost table (docs/benchmarks.md).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { checkSeeds, describeSchedule, replayCommand, type CheckSummary } from './check.js';
import { runSchedule } from './cluster.js';
import { randomSchedule } from './faults.js';
import { measureScale } from './scale.js';

interface CheckJob { from: number; count: number; nodes: [number, number] }

function flag(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? (args[i + 1] ?? fallback) : fallback;
}

function range(text: string): [number, number] {
  const [a = '3', b = a] = text.split('-');
  return [Number(a), Number(b)];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function merge(a: CheckSummary, b: CheckSummary): CheckSummary {
  const gaps = { ...a.gaps };
  for (const [k, v] of Object.entries(b.gaps)) gaps[k] = (gaps[k] ?? 0) + v;
  return {
    runs: a.runs + b.runs, failures: [...a.failures, ...b.failures], gaps, gapExamples: { ...b.gapExamples, ...a.gapExamples },
    darkPeriodsMs: [...a.darkPeriodsMs, ...b.darkPeriodsMs], dualPeriodsMs: [...a.dualPeriodsMs, ...b.dualPeriodsMs],
    nodes: { min: Math.min(a.nodes.min, b.nodes.min), max: Math.max(a.nodes.max, b.nodes.max) }, simulatedMs: a.simulatedMs + b.simulatedMs,
  };
}

function runJob(job: CheckJob): CheckSummary {
  return checkSeeds(job.from, job.count, job.nodes);
}

async function check(args: readonly string[]): Promise<number> {
  const from = Number(flag(args, 'from', '1'));
  const count = Number(flag(args, 'count', '1000'));
  const nodes = range(flag(args, 'nodes', '3-50'));
  const workers = Math.max(1, Math.min(Number(flag(args, 'workers', String(availableParallelism()))), count));
  const started = performance.now();
  const per = Math.ceil(count / workers);
  const jobs: CheckJob[] = [];
  for (let w = 0; w < workers; w++) {
    const start = from + w * per;
    const n = Math.min(per, from + count - start);
    if (n > 0) jobs.push({ from: start, count: n, nodes });
  }
  const self = fileURLToPath(import.meta.url);
  const parts = await Promise.all(jobs.map((job) => new Promise<CheckSummary>((resolve, reject) => {
    const w = new Worker(self, { workerData: job });
    w.once('message', (m: CheckSummary) => { resolve(m); });
    w.once('error', reject);
  })));
  const s = parts.reduce(merge);
  const dark = [...s.darkPeriodsMs].sort((a, b) => a - b);
  const dual = [...s.dualPeriodsMs].sort((a, b) => a - b);
  console.log(`${s.runs} schedules (seeds ${from}..${from + count - 1}), ${s.nodes.min}–${s.nodes.max} nodes, ${(s.simulatedMs / 3_600_000).toFixed(1)} h simulated, ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`dark periods after faults: n=${dark.length} p50 ${quantile(dark, 0.5).toFixed(0)} ms, p99 ${quantile(dark, 0.99).toFixed(0)} ms, max ${(dark.at(-1) ?? NaN).toFixed(0)} ms`);
  console.log(`two answerers on one side: n=${dual.length} p50 ${quantile(dual, 0.5).toFixed(0)} ms, p99 ${quantile(dual, 0.99).toFixed(0)} ms, max ${(dual.at(-1) ?? NaN).toFixed(0)} ms`);
  for (const [kind, n] of Object.entries(s.gaps)) {
    const ex = s.gapExamples[kind];
    console.log(`known gap ${kind}: ${n} (e.g. seed ${ex?.seed ?? '?'}: ${ex?.detail ?? ''})`);
  }
  const byKind: Record<string, number> = {};
  for (const f of s.failures) for (const v of f.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  console.log(`violations: ${s.failures.length} failing schedules ${JSON.stringify(byKind)}`);
  if (s.failures.length > 0) console.log(`failing seeds: ${s.failures.map((f) => f.seed).join(' ')}`);
  for (const f of s.failures.slice(0, 10)) {
    console.log(`\nFAILED ${describeSchedule(f.schedule)}`);
    for (const v of f.violations.slice(0, 5)) console.log(`  ${v.kind} at ${v.at.toFixed(0)} ms: ${v.detail}`);
    console.log(`  replay: ${replayCommand(f.seed)}`);
  }
  const first = s.failures[0];
  if (first !== undefined) {
    console.log(`\ntrace of seed ${first.seed}:`);
    const r = runSchedule(first.schedule, { seeded: true, trace: true });
    console.log(r.trace.join('\n'));
  }
  return s.failures.length === 0 ? 0 : 1;
}

function replay(args: readonly string[]): number {
  const seed = Number(flag(args, 'seed', 'NaN'));
  if (!Number.isInteger(seed)) throw new Error('replay needs --seed N');
  const schedule = randomSchedule(seed, range(flag(args, 'nodes', '3-50')));
  const r = runSchedule(schedule, { seeded: true, trace: true });
  console.log(describeSchedule(schedule));
  console.log(r.trace.join('\n'));
  for (const v of r.violations) console.log(`VIOLATION ${v.kind} at ${v.at.toFixed(0)} ms: ${v.detail}`);
  for (const g of r.gaps) console.log(`known gap ${g.kind} at ${g.at.toFixed(0)} ms: ${g.detail}`);
  return r.violations.length === 0 ? 0 : 1;
}

function scale(args: readonly string[]): number {
  const sizes = flag(args, 'nodes', '3,10,30,100,300,1000').split(',').map(Number);
  const services = Number(flag(args, 'services', '10000'));
  console.log('| nodes | Services | API writes/s | watch events/s | LAN frames/s per node (mean / busiest, liveness) | failover p50 / p99 / max (ms) | n | per failure: API writes / watch events | busiest node, busiest second of the failures (frames) | wall (s) | heap (MiB) |');
  console.log('|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|');
  for (const n of sizes) {
    const r = measureScale(n, services);
    const f = r.failoverMs;
    console.log(`| ${n} | ${services} | ${r.apiWritesPerS.toFixed(1)} | ${r.watchEventsPerS.toFixed(0)} | ${r.lanFramesPerNodePerS.toFixed(1)} / ${r.maxLivenessPerNodePerS.toFixed(1)} | ` +
      `${quantile(f, 0.5).toFixed(0)} / ${quantile(f, 0.99).toFixed(0)} / ${(f.at(-1) ?? NaN).toFixed(0)}${r.neverRecovered > 0 ? ` (${r.neverRecovered} never)` : ''} | ${f.length} | ` +
      `${r.perFailure.writes.toFixed(0)} / ${r.perFailure.watchEvents.toFixed(0)} | ${r.perFailure.busiestSecondFrames} | ` +
      `${(r.wallMs / 1000).toFixed(1)} | ${r.heapMiB.toFixed(0)} |`);
  }
  return 0;
}

if (!isMainThread) {
  parentPort?.postMessage(runJob(workerData as CheckJob));
} else {
  const [command = 'check', ...rest] = process.argv.slice(2);
  const code = command === 'check' ? await check(rest) : command === 'replay' ? replay(rest) : command === 'scale' ? scale(rest) : (() => {
    console.error(`unknown command ${command}: check, replay or scale`);
    return 2;
  })();
  process.exitCode = code;
}
