/**
 * Simulated time: a queue of callbacks ordered by (time, insertion order).
 * Nothing in the simulator reads a real clock, so a run is a pure function
 * of its seed.
 */
export interface Timer { cancelled: boolean }

interface Entry { readonly at: number; readonly seq: number; readonly fn: () => void; readonly timer: Timer }

export class SimClock {
  private heap: Entry[] = [];
  private seq = 0;
  private t = 0;

  get now(): number { return this.t; }

  at(time: number, fn: () => void): Timer {
    const timer: Timer = { cancelled: false };
    this.push({ at: Math.max(time, this.t), seq: this.seq++, fn, timer });
    return timer;
  }

  after(ms: number, fn: () => void): Timer {
    return this.at(this.t + ms, fn);
  }

  /** Runs every callback due up to `until`, in order; the clock ends at `until`. */
  runUntil(until: number): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > until) break;
      this.pop();
      this.t = top.at;
      if (!top.timer.cancelled) top.fn();
    }
    this.t = until;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
