/**
 * A blackout probe: from the client namespace, one HTTP GET to a VIP every
 * `intervalMs` for `durationMs`, each on a fresh connection (so each one
 * resolves the neighbour and opens TCP anew, as a new client would), each
 * with its own timeout. It records which node answered each request; the
 * longest run of failures is the failover blackout.
 *
 * Run as a script in a namespace (see L2Lab.probe):
 *   node dist/harness/blackout-probe.js --url http://192.0.2.200:80/ --interval 10 --duration 5000 --timeout 250
 * prints "started <epoch ms>", then one JSON line {"samples":[...]} when done.
 * Bounded: at most ceil(duration / interval) requests, and it exits by
 * duration + timeout + 1 s whatever happens.
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface Sample {
  /** Sent at, ms since the probe started. */
  readonly at: number;
  /** Round trip in ms (to the answer or the failure). */
  readonly ms: number;
  /** The answering node (answeringNode() of the body) when the request succeeded. */
  readonly node?: string;
  readonly error?: string;
}

export interface ProbeReport {
  readonly samples: readonly Sample[];
}

/**
 * The node that answered, from the body's first line: the stand-in lab's
 * pods answer with the node's name ("node-b"), the real cluster's lab pods
 * with "<pod> on <node>" (harness/real-cluster.ts).
 */
export function answeringNode(body: string): string {
  const first = body.split('\n')[0] ?? '';
  const on = first.lastIndexOf(' on ');
  return on < 0 ? first : first.slice(on + 4);
}

/**
 * The longest stretch with no successful request, in ms: from the sending
 * time of the first failed request of a run to the sending time of the next
 * success (or of the last sample, if the run never ended). 0 when nothing failed.
 */
export function longestBlackoutMs(samples: readonly Sample[]): number {
  let longest = 0;
  let runStart: number | undefined;
  for (const s of samples) {
    if (s.error !== undefined) {
      runStart ??= s.at;
    } else if (runStart !== undefined) {
      longest = Math.max(longest, s.at - runStart);
      runStart = undefined;
    }
  }
  const last = samples.at(-1);
  if (runStart !== undefined && last !== undefined) longest = Math.max(longest, last.at + last.ms - runStart);
  return longest;
}

/** The answering nodes in order, each run collapsed: ['node-b', 'node-c'] for a clean failover. */
export function answerSequence(samples: readonly Sample[]): string[] {
  const seq: string[] = [];
  for (const s of samples) {
    if (s.node !== undefined && seq.at(-1) !== s.node) seq.push(s.node);
  }
  return seq;
}

/** The samples that got no answer. */
export function failures(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => s.error !== undefined);
}

function get(url: string, timeoutMs: number): Promise<{ node?: string; error?: string }> {
  return new Promise((resolve) => {
    // agent: false: a new TCP connection per request, never a pooled one.
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode === 200) resolve({ node: answeringNode(body) });
        else resolve({ error: `HTTP ${res.statusCode ?? 0}` });
      });
      res.on('error', (err) => { resolve({ error: err.message }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', (err: NodeJS.ErrnoException) => { resolve({ error: err.code ?? err.message }); });
    req.end();
  });
}

export async function probe(url: string, intervalMs: number, durationMs: number, timeoutMs: number): Promise<ProbeReport> {
  const count = Math.max(1, Math.ceil(durationMs / intervalMs));
  const start = performance.now();
  const pending: Promise<Sample>[] = [];
  for (let i = 0; i < count; i++) {
    // A fixed schedule, not one request after another: a request stuck in a
    // timeout must not hide the moment the service comes back.
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = performance.now() - start;
    pending.push(get(url, timeoutMs).then((r) => ({ at: Math.round(at * 10) / 10, ms: Math.round((performance.now() - start - at) * 10) / 10, ...r })));
  }
  return { samples: await Promise.all(pending) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    url: { type: 'string' }, interval: { type: 'string' }, duration: { type: 'string' }, timeout: { type: 'string' },
  } });
  if (values.url === undefined) {
    console.error('usage: blackout-probe --url URL [--interval MS] [--duration MS] [--timeout MS]');
    process.exit(2);
  }
  const intervalMs = Number(values.interval ?? 10);
  const durationMs = Number(values.duration ?? 5000);
  const timeoutMs = Number(values.timeout ?? 250);
  // Hard stop, whatever the sockets do.
  setTimeout(() => {
    console.error('blackout-probe: overran its time budget');
    process.exit(3);
  }, durationMs + timeoutMs + 1000).unref();
  console.log(`started ${Date.now()}`);
  const report = await probe(values.url, intervalMs, durationMs, timeoutMs);
  console.log(JSON.stringify(report));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
