/**
 * Per (address, interface) this node answers: how many ARP/NDP replies it
 * sent, when the last one went, and when the last gratuitous burst round
 * went. Built from the responder's 'reply' and 'gratuitous' events (which
 * carry both), so the responder itself needs no new counter. Shown on the
 * agent's /status (`answers`) for `herald explain`; wall-clock times, since
 * they are for people reading them from another machine.
 */
export interface AnswerRecord {
  readonly address: string;
  readonly interface: string;
  /** Replies sent since this node began answering for the pair. */
  readonly replies: number;
  /** ISO 8601, or null before the first. */
  readonly lastReplyAt: string | null;
  readonly lastGratuitousAt: string | null;
  /** Gratuitous frames sent since this node began answering for the pair. */
  readonly gratuitousSent: number;
}

interface Mutable { replies: number; lastReplyMs: number | undefined; lastGratuitousMs: number | undefined; gratuitous: number }

export class AnswerLog {
  readonly #pairs = new Map<string, Mutable>();

  constructor(private readonly wallClock: () => number = Date.now) {}

  #entry(address: string, iface: string): Mutable {
    const key = `${address}|${iface}`;
    let e = this.#pairs.get(key);
    if (e === undefined) this.#pairs.set(key, (e = { replies: 0, lastReplyMs: undefined, lastGratuitousMs: undefined, gratuitous: 0 }));
    return e;
  }

  reply(e: { address: string; interface: string }): void {
    const entry = this.#entry(e.address, e.interface);
    entry.replies++;
    entry.lastReplyMs = this.wallClock();
  }

  gratuitous(e: { address: string; interface: string }): void {
    const entry = this.#entry(e.address, e.interface);
    entry.gratuitous++;
    entry.lastGratuitousMs = this.wallClock();
  }

  /** Forgets pairs this node no longer answers for (called with the responder's desired pairs). */
  retain(pairs: Iterable<{ address: string; interface: string }>): void {
    const keep = new Set<string>();
    for (const p of pairs) keep.add(`${p.address}|${p.interface}`);
    for (const key of this.#pairs.keys()) if (!keep.has(key)) this.#pairs.delete(key);
  }

  list(): AnswerRecord[] {
    const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
    return [...this.#pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, e]) => {
      const at = key.lastIndexOf('|');
      return {
        address: key.slice(0, at), interface: key.slice(at + 1), replies: e.replies,
        lastReplyAt: iso(e.lastReplyMs), lastGratuitousAt: iso(e.lastGratuitousMs), gratuitousSent: e.gratuitous,
      };
    });
  }
}
