import type { AnnouncePair, ResponderCounters } from '../src/l2/responder.js';
import type { Host, Spawned, Testbed } from './testbed.js';
import { responderRunner } from './entry-points.js';

export interface RunnerEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/** Drives a responder-runner process in a node namespace. */
export class RunnerClient {
  #seq = 0;

  private constructor(readonly proc: Spawned) {}

  static async start(bed: Testbed, host: Host, env: Record<string, string> = {}): Promise<RunnerClient> {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const proc = bed.spawn(host, ['env', ...envArgs, process.execPath, responderRunner]);
    await proc.waitFor(/"event":"ready"/);
    return new RunnerClient(proc);
  }

  events(kind?: string): RunnerEvent[] {
    return this.proc.lines.filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as RunnerEvent)
      .filter((e) => kind === undefined || e.event === kind);
  }

  async set(pairs: readonly AnnouncePair[]): Promise<void> {
    const seq = ++this.#seq;
    this.proc.write(JSON.stringify({ op: 'set', pairs }));
    await this.proc.waitFor(new RegExp(`"event":"set","seq":${seq}\\b`));
  }

  async counters(): Promise<ResponderCounters> {
    const before = this.events('counters').length;
    this.proc.write(JSON.stringify({ op: 'counters' }));
    for (let i = 0; i < 200; i++) {
      const all = this.events('counters');
      if (all.length > before) return all.at(-1) as unknown as ResponderCounters;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no counters from runner');
  }

  /**
   * Resolves when an event of `kind` matching `pred` has been seen (or is seen
   * later), looking only at events of that kind after the first `since`.
   */
  async waitForEvent(kind: string, pred: (e: RunnerEvent) => boolean, timeoutMs: number, since = 0): Promise<RunnerEvent> {
    const start = Date.now();
    for (;;) {
      const hit = this.events(kind).slice(since).find(pred);
      if (hit) return hit;
      if (Date.now() - start > timeoutMs) throw new Error(`no ${kind} event within ${timeoutMs} ms; events: ${JSON.stringify(this.events())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
