/**
 * A client probing many VIPs at once, for as long as it is told to: per VIP
 * one HTTP/1.1 GET every `intervalMs` on a fresh TCP connection (so each one
 * resolves the neighbour and opens TCP anew, as a new client would), each
 * with its own timeout and no retry: a timeout, a reset or any answer other
 * than 200 is a failed request. The VIPs' schedules are staggered evenly
 * over the interval and fixed, so a request stuck in its timeout never
 * delays the next one.
 *
 * Run as a script in the client namespace (see startVipProbe):
 *   node dist/harness/vip-probe.js --port 80 --interval 10 --timeout 500 --max-duration 600000 192.0.2.1 192.0.2.2 ...
 * A target may name its own port, "192.0.2.11:30080" or "[2001:db8::1]:30080"
 * (a NodePort, say); the others use --port.
 * prints "started <epoch ms>", probes until a line "stop" arrives on stdin
 * (or stdin closes, or max-duration passes), then prints one JSON line, a
 * VipProbeReport. It exits by max-duration + timeout + 2 s whatever happens.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { answeringNode } from './blackout-probe.js';

export interface ProbeFailure {
  /** Sent at, ms since the probe started. */
  readonly at: number;
  readonly error: string;
}

export interface VipSummary {
  readonly vip: string;
  readonly requests: number;
  readonly failures: number;
  /** The first 100 failures. */
  readonly failed: readonly ProbeFailure[];
  /** Every failure counted by its error. */
  readonly errors: Readonly<Record<string, number>>;
  /**
   * The longest time between the sending of two successive successful
   * requests (the interval when nothing failed and the probe kept its schedule).
   */
  readonly longestGapMs: number;
  /** Round trip of the successful requests, ms. */
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How many requests each node answered. */
  readonly answers: Readonly<Record<string, number>>;
  /** The answering node, one entry per run: where the VIP was served from, and since when (ms since the start). */
  readonly sequence: readonly { readonly node: string; readonly from: number }[];
}

export interface VipProbeReport {
  /** Date.now() in the probe process when it sent its first request. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly vips: readonly VipSummary[];
  /**
   * The probe's own event-loop delay (ms): a client starved of CPU sends
   * late and times out requests whose answers wait unread.
   */
  readonly loopDelay: { readonly p99Ms: number; readonly maxMs: number };
}

interface Outcome {
  readonly at: number;
  readonly ms: number;
  readonly node?: string;
  readonly error?: string;
}

/**
 * The answer in `data` once it is whole: complete headers and as many body
 * bytes as Content-Length says (or, without one, the connection's end).
 */
function parseAnswer(data: string, ended: boolean): { node?: string; error?: string } | undefined {
  const cut = data.indexOf('\r\n\r\n');
  if (cut < 0) return ended ? { error: data === '' ? 'no HTTP answer' : 'truncated answer' } : undefined;
  const head = data.slice(0, cut);
  const body = data.slice(cut + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (!ended && (length === undefined || Buffer.byteLength(body) < Number(length))) return undefined;
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  if (status !== '200') return { error: status === undefined ? 'no HTTP answer' : `HTTP ${status}` };
  return { node: answeringNode(body) };
}

/**
 * One GET on a new connection: the node that answered (answeringNode()),
 * or why not. The answer counts once it is whole, as for any HTTP client,
 * whatever happens to the connection afterwards.
 */
export function getOnce(host: string, port: number, timeoutMs: number): Promise<{ node?: string; error?: string }> {
  return new Promise((resolve) => {
    let data = '';
    let finished = false;
    const socket = connect({ host, port });
    const finish = (r: { node?: string; error?: string }): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    // How far it got: a failure after the handshake is a connection that broke, not one that never began.
    let phase = 'connecting';
    const due = performance.now() + timeoutMs;
    const timer = setTimeout(() => {
      // A timer that fires late is a probe that was starved: say so, it is not the network's doing alone,
      // and read what has arrived meanwhile first (timers run before I/O in each turn of the event loop).
      const late = performance.now() - due;
      setImmediate(() => { finish({ error: `timeout (${phase}${late > 50 ? `, fired ${Math.round(late)} ms late` : ''})` }); });
    }, timeoutMs);
    socket.setEncoding('utf8');
    // HTTP/1.1: the server keeps the connection open after its answer, so the client closes first and the
    // TIME_WAIT stays here. Otherwise the pod's TIME_WAIT sockets, one backend address for every VIP of its
    // node, meet this client's next connections from the same ports to other VIPs (PAWS rejects, SYN retries).
    socket.on('connect', () => { phase = 'connected'; socket.write(`GET / HTTP/1.1\r\nHost: ${host.includes(':') ? `[${host}]` : host}\r\n\r\n`); });
    socket.on('data', (chunk: string) => {
      data += chunk;
      phase = 'answering';
      const answer = parseAnswer(data, false);
      if (answer) finish(answer);
    });
    socket.on('end', () => { finish(parseAnswer(data, true) ?? { error: 'truncated answer' }); });
    socket.on('error', (err: NodeJS.ErrnoException) => { finish({ error: `${err.code ?? err.message} (${phase})` }); });
  });
}

/**
 * A connection that was set up and then reset before its answer was whole:
 * what a client sees when its request began through one node and its next
 * packets reached another (the VIP moved while the connection was open).
 */
export function resetMidConnection(error: string): boolean {
  return /^(ECONNRESET|EPIPE) \((connected|answering)\)$/.test(error);
}

/** A probe target: "addr" (on `defaultPort`), "v4:port" or "[v6]:port". */
export function parseTarget(target: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(target);
  if (v6) return { host: v6[1] ?? '', port: Number(v6[2]) };
  const v4 = /^([^:]+):(\d+)$/.exec(target);
  if (v4) return { host: v4[1] ?? '', port: Number(v4[2]) };
  return { host: target, port: defaultPort };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

export function summarize(vip: string, outcomes: readonly Outcome[]): VipSummary {
  const answers: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const sequence: { node: string; from: number }[] = [];
  const failed: ProbeFailure[] = [];
  const rtt: number[] = [];
  let failures = 0;
  let lastOk: number | undefined;
  let longestGapMs = 0;
  for (const o of outcomes) {
    if (o.node === undefined) {
      failures++;
      const error = o.error ?? 'unknown';
      errors[error] = (errors[error] ?? 0) + 1;
      if (failed.length < 100) failed.push({ at: o.at, error });
      continue;
    }
    answers[o.node] = (answers[o.node] ?? 0) + 1;
    if (sequence.at(-1)?.node !== o.node) sequence.push({ node: o.node, from: o.at });
    rtt.push(o.ms);
    if (lastOk !== undefined) longestGapMs = Math.max(longestGapMs, o.at - lastOk);
    lastOk = o.at;
  }
  rtt.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    vip, requests: outcomes.length, failures, failed, errors, longestGapMs: round(longestGapMs),
    p99Ms: round(percentile(rtt, 99)), maxMs: round(rtt.at(-1) ?? 0), answers, sequence,
  };
}

/** Probes every VIP until stop() is called or maxDurationMs has passed. */
export function probeVips(o: { vips: readonly string[]; port: number; intervalMs: number; timeoutMs: number; maxDurationMs: number }): {
  readonly startedAt: number;
  stop: () => void;
  readonly done: Promise<VipProbeReport>;
} {
  const startedAt = Date.now();
  const start = performance.now();
  let stopped = false;
  const stop = (): void => { stopped = true; };
  // A call, so that the loops read it afresh after each await.
  const isStopped = (): boolean => stopped;
  const budget = setTimeout(stop, o.maxDurationMs);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const loop = async (vip: string, offset: number): Promise<Outcome[]> => {
    const target = parseTarget(vip, o.port);
    const pending: Promise<Outcome>[] = [];
    for (let i = 0; !isStopped(); i++) {
      const due = start + offset + i * o.intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (isStopped()) break;
      const at = performance.now() - start;
      pending.push(getOnce(target.host, target.port, o.timeoutMs).then((r) => ({ at: Math.round(at * 10) / 10, ms: performance.now() - start - at, ...r })));
    }
    return Promise.all(pending);
  };
  const done = Promise.all(o.vips.map((vip, k) => loop(vip, (k * o.intervalMs) / o.vips.length))).then((all) => {
    clearTimeout(budget);
    delay.disable();
    return {
      startedAt, durationMs: Math.round(performance.now() - start), vips: all.map((outcomes, k) => summarize(o.vips[k] ?? '', outcomes)),
      loopDelay: { p99Ms: Math.round(delay.percentile(99) / 1e5) / 10, maxMs: Math.round(delay.max / 1e5) / 10 },
    };
  });
  return { startedAt, stop, done };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: {
    port: { type: 'string' }, interval: { type: 'string' }, timeout: { type: 'string' }, 'max-duration': { type: 'string' },
  } });
  if (positionals.length === 0) {
    console.error('usage: vip-probe [--port 80] [--interval MS] [--timeout MS] [--max-duration MS] VIP...');
    process.exit(2);
  }
  const maxDurationMs = Number(values['max-duration'] ?? 600_000);
  const timeoutMs = Number(values.timeout ?? 500);
  setTimeout(() => {
    console.error('vip-probe: overran its time budget');
    process.exit(3);
  }, maxDurationMs + timeoutMs + 2000).unref();
  const run = probeVips({ vips: positionals, port: Number(values.port ?? 80), intervalMs: Number(values.interval ?? 10), timeoutMs, maxDurationMs });
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => { if (line.trim() === 'stop') run.stop(); });
  input.on('close', run.stop);
  console.log(`started ${run.startedAt}`);
  const report = await run.done;
  input.close();
  console.log(JSON.stringify(report));
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
