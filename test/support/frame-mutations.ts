/** Fuzzing input for frame decoders: real frames with bytes flipped, truncated or extended. */
import fc from 'fast-check';

/**
 * `seeds` mutated: up to 8 bytes overwritten (except at the offsets in
 * `keep`, so that a case is not stopped by the first check every time), then
 * possibly truncated, then extended with up to 40 random bytes.
 */
export function mutatedFrames(seeds: readonly Buffer[], keep: ReadonlySet<number> = new Set()): fc.Arbitrary<Buffer> {
  return fc.record({
    seed: fc.constantFrom(...seeds),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 40 }),
  }).map(({ seed, flips, cut, tail }) => {
    const f = Buffer.from(seed);
    for (const [at, v] of flips) if (!keep.has(at % f.length)) f[at % f.length] = v;
    const cutAt = cut === undefined ? f.length : cut % (f.length + 1);
    return Buffer.concat([f.subarray(0, cutAt), tail]);
  });
}
