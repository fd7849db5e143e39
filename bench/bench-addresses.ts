/**
 * Up to 762 IPv4 documentation addresses (192.0.2.0/24, 198.51.100.0/24 and
 * 203.0.113.0/24, without .0 and .255), in that order: benches that answer
 * many addresses on a link must not use any others.
 */
export function benchAddresses(count: number): string[] {
  const out: string[] = [];
  for (const prefix of ['192.0.2', '198.51.100', '203.0.113']) {
    for (let i = 1; i <= 254 && out.length < count; i++) out.push(`${prefix}.${i}`);
  }
  if (out.length < count) throw new Error(`at most ${out.length} IPv4 documentation addresses, asked for ${count}`);
  return out;
}
