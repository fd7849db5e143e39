/**
 * The part of kube-proxy's nftables ruleset (`nft list table ip kube-proxy`,
 * nftables mode) that handles one address: the map and set elements keyed by
 * it, and the per-Service chains they lead to, followed through their goto,
 * jump and vmap references (external-…, service-…, endpoint-… chains). The
 * chains every Service shares (mark-for-masquerade and the like) are named,
 * not printed: their names carry no "/".
 */

interface Table {
  /** chain name → its body lines, trimmed. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** "map service-ips" / "set firewall-ips" → its elements, one per entry. */
  readonly elements: ReadonlyMap<string, readonly string[]>;
}

function parseTable(ruleset: string): Table {
  const chains = new Map<string, string[]>();
  const elements = new Map<string, string[]>();
  const lines = ruleset.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^\s*(chain|map|set) (\S+) \{\s*$/.exec(lines[i] ?? '');
    if (head === null) continue;
    const [, kind = '', name = ''] = head;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*\}\s*$/.test(lines[i] ?? ''); i++) body.push((lines[i] ?? '').trim());
    if (kind === 'chain') {
      chains.set(name, body);
      continue;
    }
    // elements = { a : goto x, b : goto y } may span lines.
    const text = body.join(' ');
    const m = /elements = \{(.*)\}/.exec(text);
    if (m !== null) elements.set(`${kind} ${name}`, (m[1] ?? '').split(',').map((e) => e.trim()).filter((e) => e !== ''));
  }
  return { chains, elements };
}

function references(line: string): string[] {
  return [...line.matchAll(/\b(?:goto|jump) ([^\s,}]+)/g)].map((m) => m[1] ?? '');
}

/** The elements and chains for `address`, as text to print; '' when the table has nothing for it. */
export function rulesForAddress(ruleset: string, address: string): string {
  const table = parseTable(ruleset);
  const out: string[] = [];
  const todo: string[] = [];
  for (const [container, entries] of table.elements) {
    const mine = entries.filter((e) => e === address || e.startsWith(`${address} `));
    if (mine.length === 0) continue;
    out.push(`${container}:`, ...mine.map((e) => `  ${e}`));
    for (const e of mine) todo.push(...references(e));
  }
  const seen = new Set<string>();
  while (todo.length > 0) {
    const name = todo.shift() ?? '';
    if (seen.has(name) || !name.includes('/')) continue;
    seen.add(name);
    const body = table.chains.get(name);
    if (body === undefined) continue;
    out.push(`chain ${name}:`, ...body.map((l) => `  ${l}`));
    for (const l of body) todo.push(...references(l));
  }
  return out.join('\n');
}
