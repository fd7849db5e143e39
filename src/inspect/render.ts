/** Text for people: `herald explain` and `herald status` (JSON and YAML print the models as they are). */
import type { Explanation } from './explain.js';
import type { NodeRow, StatusReport } from './status.js';

/** Cuts `text` to `width` columns, with an ellipsis when it had to. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Requested, the pools and why, assigned, and the operator's condition. */
function poolLines(e: Explanation, line: (indent: number, text: string) => void): void {
  const ipam = e.ipam;
  line(2, `requested: ${ipam.requested.length > 0 ? ipam.requested.join(', ') : '(any)'}${ipam.unparsable.length > 0 ? `  unparsable: ${ipam.unparsable.join(', ')}` : ''}`);
  if (ipam.pools.length === 0) line(2, 'pools: none exist');
  for (const p of ipam.pools) {
    const mark = p.selected ? 'selected ' : p.candidate ? 'candidate' : 'no       ';
    line(2, `${mark} ${p.name}${p.why === null ? '' : `: ${p.why}`}`);
  }
  line(2, `assigned: ${ipam.assigned.length > 0 ? ipam.assigned.map((a) => `${a.address}${a.pool === null ? ' (in no pool)' : ` from ${a.pool}`}`).join(', ') : '(none)'}`);
  line(2, `condition cilium.io/IPAMRequestSatisfied: ${ipam.condition === null ? '(not written)' : `${ipam.condition.status}, ${ipam.condition.reason}: ${ipam.condition.message}`}`);
}

export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const line = (indent: number, text: string): void => { out.push(`${' '.repeat(indent)}${text}`); };
  line(0, `Service ${e.service}  (type ${e.type}, externalTrafficPolicy ${e.externalTrafficPolicy}${e.loadBalancerClass === null ? '' : `, loadBalancerClass ${e.loadBalancerClass}`})`);
  for (const s of e.summary) line(2, `=> ${s}`);
  out.push('');
  line(0, `Class: ${e.classVerdict}`);

  out.push('');
  line(0, 'Pools (LB-IPAM):');
  const ipam = e.ipam;
  if (!ipam.eligible) line(2, 'not LB-IPAM\'s: no address from any pool (see the class)');
  else poolLines(e, line);
  if (ipam.sharingKey !== null || ipam.sharedWith.length > 0) {
    line(2, `sharing key: ${ipam.sharingKey ?? '(none)'}`);
    for (const o of ipam.sharedWith) line(4, `shares ${o.addresses.join(', ')} with ${o.service}${o.sharingKey === null ? '' : ` (key ${o.sharingKey})`}`);
  }

  out.push('');
  line(0, 'L2 announcements:');
  if (e.l2Skipped !== null) line(2, `skipped: ${e.l2Skipped}`);
  if (e.addresses.length === 0 && e.notAnnounced.length === 0 && e.l2Skipped === null) line(2, 'no address to announce');
  if (e.addressGroup.members.length > 1) {
    line(2, `address group: ${e.addressGroup.members.join(', ')} (ranked as ${e.addressGroup.rankKey}; one node answers for all of them)`);
  }
  for (const a of e.addresses) {
    line(2, `${a.address} (${a.source === 'loadBalancerIP' ? 'load-balancer address' : 'external IP'}):`);
    if (a.policies.length === 0) line(4, 'policies: none exist');
    for (const p of a.policies) line(4, `policy ${p.name}: ${p.selects ? 'selects it' : `no: ${p.why ?? ''}`}`);
    line(4, `candidates, best first: ${a.ranked.length > 0 ? a.ranked.join(', ') : '(none)'}`);
    const byRank = [...a.nodes].sort((x, y) => (x.rank ?? Infinity) - (y.rank ?? Infinity) || (x.name < y.name ? -1 : 1));
    for (const n of byRank) {
      line(6, n.candidate ? `#${n.rank ?? '?'} ${n.name} on ${n.links.join(', ')}` : `-  ${n.name}: ${n.why ?? ''}`);
    }
    if (a.holder !== null) {
      line(4, `answered by ${a.holder}:`);
      if (a.answers.length === 0) line(6, '(no interface known)');
      for (const x of a.answers) {
        const replies = x.replies === null ? 'replies unknown (agent not read or older)' : `${x.replies} replies${x.lastReplyAt === null ? '' : `, last ${x.lastReplyAt}`}`;
        line(6, `${x.interface} ${x.mac ?? '(MAC unknown)'}: ${replies}; last gratuitous ${x.lastGratuitousAt ?? '(unknown)'}`);
      }
    }
  }
  for (const r of e.notAnnounced) line(2, `${r.address}: not announced: ${r.reason}`);

  out.push('');
  if (e.lease === null) line(0, 'Lease: none (no node has claimed the Service)');
  else {
    const l = e.lease;
    line(0, `Lease ${l.namespace}/${l.name}: holder ${l.holder === '' ? '(none)' : l.holder}${l.heldFor === null ? '' : ` for ${l.heldFor}`}`);
    line(2, `acquireTime ${l.acquireTime ?? '-'}, renewTime ${l.renewTime ?? '-'}, leaseTransitions ${l.leaseTransitions ?? 0}`);
  }
  if (e.holderAgent !== null) {
    const h = e.holderAgent;
    line(2, `agent on ${h.node}: ${h.error !== null ? `not read: ${h.error}` : `${h.answering === true ? 'answering' : 'not answering'}${h.why === null ? '' : ` (${h.why})`}`}`);
  }

  out.push('');
  const bad = e.agents.filter((a) => a.state === 'unreachable');
  const asked = e.agents.filter((a) => a.state === 'ok' || a.state === 'unreachable');
  const none = e.agents.filter((a) => a.state === 'no agent');
  if (e.agents.every((a) => a.state === 'not asked')) line(0, 'Agents: not asked (--agents=none)');
  else line(0, `Agents: ${asked.length - bad.length}/${asked.length} answered${none.length > 0 ? `; no agent runs on ${none.map((a) => a.node).join(', ')} (no node Lease names one)` : ''}`);
  for (const a of bad) line(2, `${a.node}: unreachable: ${a.error ?? ''}`);
  for (const p of e.problems) line(0, `note: ${p}`);
  return `${out.join('\n')}\n`;
}

function nodeToken(n: NodeRow): string {
  const what = n.state === 'alive' ? '' : n.state === 'marked' ? ` MARKED unreachable on ${n.unreachableOn.join(',')}` : ` ${n.state.toUpperCase()}`;
  return `${n.name}(${n.holds})${what}${n.excluded === null ? '' : ' excluded'}`;
}

/** Cuts the middle out of `text` ("a-long-namespace/a-long-name" → "a-long-na…ong-name"): both ends tell names apart. */
export function truncateMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width < 5) return truncate(text, width);
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/** The addresses in `width` columns: all of them, else the first and how many more. */
function addressCell(addresses: readonly string[], width: number): string {
  const all = addresses.join(',');
  if (all.length <= width || addresses.length < 2) return all === '' ? '-' : all;
  return `${addresses[0] ?? ''} +${addresses.length - 1}`;
}

interface Column {
  readonly title: string;
  readonly min: number;
  readonly cells: string[];
  readonly fit?: (cell: string, width: number, row: number) => string;
}

/**
 * The status table, at most `width` columns wide: one line per Service, then
 * the nodes (wrapped) and a summary line. The SERVICE and ADDRESSES columns
 * give way first (truncated with …), and below about 90 columns the MACs
 * go; -o json has everything.
 */
export function renderStatus(r: StatusReport, width = 120): string {
  const shortest = Math.max(15, ...r.services.map((s) => addressCell(s.addresses, 0).length));
  const columns: Column[] = [
    { title: 'SERVICE', min: 20, cells: r.services.map((s) => s.service), fit: truncateMiddle },
    {
      title: 'ADDRESSES', min: Math.min(shortest, 45), cells: r.services.map((s) => s.addresses.join(',') || '-'),
      fit: (cell, w, i) => truncate(addressCell(r.services[i]?.addresses ?? [], w), w),
    },
    { title: 'STATE', min: 9, cells: r.services.map((s) => s.state) },
    { title: 'HOLDER', min: 6, cells: r.services.map((s) => s.holder ?? '-') },
    { title: 'IFACE', min: 5, cells: r.services.map((s) => s.interfaces.join(',') || '-') },
    { title: 'MAC', min: 17, cells: r.services.map((s) => s.macs.join(',') || '-') },
    { title: 'AGE', min: 3, cells: r.services.map((s) => s.age ?? (s.note === null ? '-' : '')) },
  ];
  const widths = columns.map((c) => Math.max(c.title.length, ...c.cells.map((x) => x.length)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  // Give way: the addresses first (down to the first one and a count), then names, holders, interfaces, MACs.
  for (const i of [1, 0, 3, 4, 5]) {
    const over = total() - width;
    if (over <= 0) break;
    const col = columns[i];
    const w = widths[i];
    if (col === undefined || w === undefined) continue;
    widths[i] = Math.max(col.min, w - over);
  }
  // Narrower than every minimum: the MACs go (-o json has them).
  if (total() > width) {
    columns.splice(5, 1);
    widths.splice(5, 1);
  }
  const lines: string[] = [];
  const row = (cells: readonly string[], at: number): string => cells.map((c, i) => {
    const w = widths[i] ?? 0;
    const fit = at < 0 ? undefined : columns[i]?.fit;
    return (fit === undefined ? truncate(c, w) : fit(c, w, at)).padEnd(w);
  }).join('  ').trimEnd();
  lines.push(row(columns.map((c) => c.title), -1));
  for (let i = 0; i < r.services.length; i++) {
    const s = r.services[i];
    const cells = columns.map((c) => c.cells[i] ?? '');
    // Not announced: why (pending, no candidate, ...) takes the place of holder, interface, MAC and age.
    const text = s !== undefined && s.state !== 'announced' && s.note !== null
      ? `${row(cells.slice(0, 3), i).padEnd((widths[0] ?? 0) + (widths[1] ?? 0) + (widths[2] ?? 0) + 4)}  ${s.note}`
      : row(cells, i);
    lines.push(truncate(text, width));
  }
  // Nodes, wrapped: name(Services held) and what is wrong with it. Beyond a
  // dozen nodes the alive ones are counted, not listed: the others are news.
  const alive = r.nodes.filter((n) => n.state === 'alive' && n.excluded === null);
  const listed = r.nodes.length > 12 ? r.nodes.filter((n) => !alive.includes(n)) : r.nodes;
  const tokens = listed.map(nodeToken);
  if (listed.length < r.nodes.length) {
    const held = alive.map((n) => n.holds);
    tokens.unshift(`${alive.length} alive, holding ${Math.min(...held)}-${Math.max(...held)} Services each`);
  }
  let current = 'NODES';
  for (const t of tokens) {
    if (current.length + 2 + t.length > width && current.trim() !== '' && current !== 'NODES') {
      lines.push(current);
      current = '     ';
    }
    current += `  ${t}`;
  }
  lines.push(truncate(current, width));
  const m = r.summary;
  const parts = [`${m.services} Services, ${m.addresses} addresses: ${m.announced} announced`];
  if (m.withoutHolder > 0) parts.push(`${m.withoutHolder} without a holder`);
  if (m.pending > 0) parts.push(`${m.pending} pending`);
  if (m.notAnnounced > 0) parts.push(`${m.notAnnounced} not announced`);
  const summary = `${parts.join(', ')}; ${m.alive}/${m.nodes} nodes alive`;
  if (summary.length <= width) lines.push(summary);
  else lines.push(truncate(`${parts.join(', ')};`, width), truncate(`${m.alive}/${m.nodes} nodes alive`, width));
  const unread = r.nodes.filter((n) => n.agentError !== null);
  if (unread.length > 0) {
    const first = unread[0];
    lines.push(truncate(`agents not read on ${unread.length} node${unread.length === 1 ? '' : 's'}, e.g. ${first?.name ?? ''}: ${first?.agentError ?? ''}`, width));
  }
  for (const p of r.problems) lines.push(truncate(`note: ${p}`, width));
  return `${lines.join('\n')}\n`;
}
