/** The simulator's only source of randomness: seeded, so a seed replays a run exactly. */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { mersenne } from 'pure-rand/generator/mersenne';

export class Rng {
  // Mersenne Twister: its seeding spreads consecutive small seeds well (xoroshiro's first outputs for seeds 1, 2, 3... are alike).
  private readonly g: ReturnType<typeof mersenne>;
  constructor(seed: number) { this.g = mersenne(seed); }
  /** In [0, 1). */
  float(): number { return uniformFloat64(this.g); }
  /** In [from, to], whole numbers. */
  int(from: number, to: number): number { return uniformInt(this.g, from, to); }
  between(from: number, to: number): number { return from + (to - from) * this.float(); }
  chance(p: number): boolean { return this.float() < p; }
  pick<T>(xs: readonly T[]): T {
    const x = xs[this.int(0, xs.length - 1)];
    if (x === undefined) throw new RangeError('pick from an empty list');
    return x;
  }
  /** `k` distinct elements, in random order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    const copy = [...xs];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, k);
  }
}
