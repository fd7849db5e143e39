/**
 * mulberry32: a tiny seeded generator of floats in [0, 1), so the address sets
 * that tests and benchmarks draw are the same on every run (the figures in
 * docs/benchmarks.md were measured with these very sets). The simulator has
 * its own generator (sim/rng.ts, pure-rand's Mersenne Twister).
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
