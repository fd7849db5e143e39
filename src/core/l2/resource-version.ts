const DIGITS = /^(0|[1-9]\d*)$/;

/** resourceVersion order where both are etcd revisions (decimal integers); otherwise only equality is known (NaN). */
export function compareResourceVersions(a: string, b: string): number {
  if (a === b) return 0;
  if (!DIGITS.test(a) || !DIGITS.test(b)) return NaN;
  // Decimal integers without leading zeros: the longer is larger, else text order is number order.
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}
