/** Text for people: `herald explain` and `herald status` (JSON and YAML print the models as they are). */
import type { Explanation } from './explain.js';
import type { NodeRow, ServiceRow, StatusReport } from './status.js';

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
 * The per-Service table (`-o wide`), at most `width` columns wide. The
 * SERVICE and ADDRESSES columns give way first (truncated with …), and below
 * about 90 columns the MACs go; -o json has everything.
 */
function serviceTable(services: readonly ServiceRow[], width: number): string[] {
  const shortest = Math.max(15, ...services.map((s) => addressCell(s.addresses, 0).length));
  const columns: Column[] = [
    { title: 'SERVICE', min: 20, cells: services.map((s) => s.service), fit: truncateMiddle },
    {
      title: 'ADDRESSES', min: Math.min(shortest, 45), cells: services.map((s) => s.addresses.join(',') || '-'),
      fit: (cell, w, i) => truncate(addressCell(services[i]?.addresses ?? [], w), w),
    },
    { title: 'STATE', min: 9, cells: services.map((s) => s.state) },
    { title: 'HOLDER', min: 6, cells: services.map((s) => s.holder ?? '-') },
    { title: 'IFACE', min: 5, cells: services.map((s) => s.interfaces.join(',') || '-') },
    { title: 'MAC', min: 17, cells: services.map((s) => s.macs.join(',') || '-') },
    { title: 'AGE', min: 3, cells: services.map((s) => s.age ?? (s.note === null ? '-' : '')) },
  ];
  const natural = (): number[] => columns.map((c) => Math.max(c.title.length, ...c.cells.map((x) => x.length)));
  let widths = natural();
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const giveWay = (order: readonly number[]): void => {
    for (const i of order) {
      const over = total() - width;
      if (over <= 0) break;
      const col = columns[i];
      const w = widths[i];
      if (col === undefined || w === undefined) continue;
      widths[i] = Math.max(col.min, w - over);
    }
  };
  // Give way: the addresses first (down to the first one and a count), then names, holders, interfaces, MACs.
  giveWay([1, 0, 3, 4, 5]);
  // Narrower than every minimum: the MACs go (-o json has them), and the
  // others give way again from their natural widths, holders last.
  if (total() > width) {
    columns.splice(5, 1);
    widths = natural();
    giveWay([1, 0, 4, 3]);
  }
  const lines: string[] = [];
  const row = (cells: readonly string[], at: number): string => cells.map((c, i) => {
    const w = widths[i] ?? 0;
    const fit = at < 0 ? undefined : columns[i]?.fit;
    return (fit === undefined ? truncate(c, w) : fit(c, w, at)).padEnd(w);
  }).join('  ').trimEnd();
  lines.push(row(columns.map((c) => c.title), -1));
  for (let i = 0; i < services.length; i++) {
    const s = services[i];
    const cells = columns.map((c) => c.cells[i] ?? '');
    // Not announced: why (pending, no candidate, ...) takes the place of holder, interface, MAC and age.
    const text = s !== undefined && s.state !== 'announced' && s.note !== null
      ? `${row(cells.slice(0, 3), i).padEnd((widths[0] ?? 0) + (widths[1] ?? 0) + (widths[2] ?? 0) + 4)}  ${s.note}`
      : row(cells, i);
    lines.push(truncate(text, width));
  }
  return lines;
}

/** The nodes (wrapped), the summary, agents not read and notes: what follows the Services in every form. */
function footer(r: StatusReport, width: number): { nodes: string[]; rest: string[] } {
  const lines: string[] = [];
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
  const rest: string[] = [];
  const m = r.summary;
  const parts = [`${m.services} Services, ${m.addresses} addresses: ${m.announced} announced`];
  if (m.withoutHolder > 0) parts.push(`${m.withoutHolder} without a holder`);
  if (m.pending > 0) parts.push(`${m.pending} pending`);
  if (m.notAnnounced > 0) parts.push(`${m.notAnnounced} not announced`);
  // Wrapped between its parts when it must be.
  const words = [...parts.map((p, i) => `${p}${i === parts.length - 1 ? ';' : ','}`), `${m.alive}/${m.nodes} nodes alive`];
  let said = '';
  for (const w of words) {
    if (said !== '' && said.length + 1 + w.length > width) {
      rest.push(truncate(said, width));
      said = '';
    }
    said = said === '' ? w : `${said} ${w}`;
  }
  rest.push(truncate(said, width));
  const unread = r.nodes.filter((n) => n.agentError !== null);
  if (unread.length > 0) {
    const first = unread[0];
    rest.push(truncate(`agents not read on ${unread.length} node${unread.length === 1 ? '' : 's'}, e.g. ${first?.name ?? ''}: ${first?.agentError ?? ''}`, width));
  }
  for (const p of r.problems) rest.push(truncate(`note: ${p}`, width));
  return { nodes: lines, rest };
}

/**
 * `-o wide`: one line per Service (SERVICE, ADDRESSES, STATE, HOLDER, IFACE,
 * MAC, AGE), then the nodes and a summary, at most `width` columns wide.
 */
export function renderStatusWide(r: StatusReport, width = 120): string {
  const f = footer(r, width);
  return `${[...serviceTable(r.services, width), ...f.nodes, ...f.rest].join('\n')}\n`;
}

/**
 * A problem: not announced (pending, no holder, no candidate, an address
 * refused) or held by a node that is not alive. Problems are always shown in
 * full, one line each.
 */
export function isProblem(s: ServiceRow, nodes: ReadonlyMap<string, NodeRow>): boolean {
  if (s.state !== 'announced' || s.note !== null) return true;
  const holder = s.holder === null ? undefined : nodes.get(s.holder);
  return holder === undefined || (holder.state !== 'alive' && holder.state !== 'restarting');
}

interface Layout {
  /** The ANNOUNCED lines, the title first, cut at the budget. */
  readonly lines: string[];
  /** Healthy Services not shown for want of rows. */
  readonly elided: number;
}

/** The healthy Services as `ns/svc address→node`, in as many columns as fit, names cut to `nameWidth`. */
function columnsLayout(healthy: readonly ServiceRow[], width: number, budget: number, nameWidth: number): Layout {
  const addrs = healthy.map((s) => addressCell(s.addresses, 0));
  const names = healthy.map((s) => truncateMiddle(s.service, nameWidth));
  const nw = Math.max(...names.map((n) => n.length));
  const targets = healthy.map((s, i) => `${addrs[i] ?? ''}→${s.holder ?? ''}`);
  const tw = Math.max(...targets.map((t) => t.length));
  const cell = nw + 1 + tw;
  const perLine = Math.max(1, Math.floor((width + 2) / (cell + 2)));
  const needed = Math.ceil(healthy.length / perLine);
  const shown = Math.max(0, Math.min(needed, budget - 1));
  if (shown === 0) return { lines: [], elided: healthy.length };
  const lines = [truncate('ANNOUNCED  Service address→holder', width)];
  // Down the columns, as ls: sorted names read top to bottom.
  for (let row = 0; row < shown; row++) {
    const cells: string[] = [];
    for (let col = 0; col < perLine; col++) {
      const i = col * shown + row;
      const s = healthy[i];
      if (s === undefined) continue;
      cells.push(`${(names[i] ?? '').padEnd(nw)} ${(targets[i] ?? '').padEnd(tw)}`);
    }
    lines.push(truncate(cells.join('  ').trimEnd(), width));
  }
  return { lines, elided: healthy.length - Math.min(healthy.length, shown * perLine) };
}

/**
 * The healthy Services grouped by holder: `node (eth0 MAC): ns/svc address, ...`,
 * wrapped, names cut to `nameWidth`; `detail` shows the interfaces and MACs.
 */
function groupedLayout(healthy: readonly ServiceRow[], width: number, budget: number, nameWidth: number, detail: boolean, flow = false): Layout {
  const byHolder = new Map<string, ServiceRow[]>();
  for (const s of healthy) {
    const h = s.holder ?? '';
    const list = byHolder.get(h) ?? [];
    list.push(s);
    byHolder.set(h, list);
  }
  // Every line with how many Services it names; cut at the budget afterwards.
  const all: { text: string; count: number }[] = [];
  for (const [holder, list] of [...byHolder].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const links = new Map<string, string>();
    for (const s of list) s.interfaces.forEach((i, k) => { if (!links.has(i)) links.set(i, s.macs[k] ?? '?'); });
    const head = detail && links.size > 0 ? `${holder} (${[...links].map(([i, m]) => `${i} ${m}`).join(', ')}):` : `${holder}:`;
    // Flowing, a holder follows the last one's Services on the same line when it fits.
    const entries = list.map((s) => `${truncateMiddle(s.service, nameWidth)} ${addressCell(s.addresses, 0)}`);
    const last = flow ? all.at(-1) : undefined;
    let current = head;
    let count = 0;
    let first = true;
    if (last !== undefined && last.text.length + 2 + head.length + 1 + (entries[0] ?? '').length + 1 <= width) {
      all.pop();
      current = `${last.text}; ${head}`;
      count = last.count;
    } else if (last !== undefined && last.text.length + 2 + head.length <= width) {
      // The holder ends the line, its Services start the next.
      all.pop();
      all.push({ text: `${last.text}; ${head}`, count: last.count });
      current = '';
      first = false;
    }
    for (const entry of entries) {
      // An entry and the comma after it must fit; the first on a line always goes.
      if (count > 0 && current.length + (first ? 1 : 2) + entry.length + 1 > width) {
        all.push({ text: first ? current : `${current},`, count });
        // Flowing, a line is as likely to start with a holder as not: no indent.
        const indent = flow ? '' : '    ';
        current = first ? `${indent}${head} ${entry}` : `${indent}${entry}`;
        count = 1;
      } else {
        current += current === '' ? entry : `${first ? '' : ','} ${entry}`;
        count++;
      }
      first = false;
    }
    all.push({ text: current, count });
  }
  if (budget < 2) return { lines: [], elided: healthy.length };
  const kept = all.slice(0, budget - 1);
  const title = `ANNOUNCED  by holder${detail ? ' (interface MAC)' : ''}: Service address, ...${flow ? '; next holder: ...' : ''}`;
  return {
    lines: [truncate(title, width), ...kept.map((l) => truncate(l.text, width))],
    elided: healthy.length - kept.reduce((n, l) => n + l.count, 0),
  };
}

export interface StatusLayout {
  /** Columns (`--width`, the terminal's, else 80). */
  readonly width: number;
  /** Rows (`--rows`, the terminal's, else 50). */
  readonly rows: number;
}

/**
 * The default text: the whole table when it fits `rows`; else the problems
 * in full (one line each, as in the table), the healthy Services compactly
 * (grouped by holder or in columns, whichever cuts names least), the nodes
 * and the summary. When even that does not fit, the healthy entries that do
 * not are counted at the end (`-o wide` shows all); problems never are.
 */
export function renderStatus(r: StatusReport, layout: StatusLayout = { width: 80, rows: 50 }): string {
  const { width, rows } = layout;
  const wide = renderStatusWide(r, width);
  if (wide.split('\n').length - 1 <= rows) return wide;
  const byName = new Map(r.nodes.map((n) => [n.name, n]));
  const problems = r.services.filter((s) => isProblem(s, byName));
  const healthy = r.services.filter((s) => !isProblem(s, byName));
  const f = footer(r, width);
  const top = problems.length > 0 ? serviceTable(problems, width) : [];
  const fixed = top.length + f.nodes.length + f.rest.length;
  const longest = Math.max(0, ...healthy.map((s) => s.service.length));
  const structured = (budget: number, n: number): Layout[] => [
    groupedLayout(healthy, width, budget, n, true),
    groupedLayout(healthy, width, budget, n, false),
    columnsLayout(healthy, width, budget, n),
  ];
  const all = (budget: number, n: number): Layout[] => [
    ...structured(budget, n),
    groupedLayout(healthy, width, budget, n, true, true),
    groupedLayout(healthy, width, budget, n, false, true),
  ];
  let chosen: Layout | undefined;
  if (healthy.length > 0) {
    const budget = rows - fixed;
    // A line per holder, or columns, when names keep 20 characters; else
    // the holders run on in one paragraph; names cut down to 10 at most.
    const tiers: [(budget: number, n: number) => Layout[], number][] = [[structured, Math.min(longest, 20)], [all, Math.min(longest, 10)]];
    for (const [forms, shortest] of tiers) {
      for (let n = longest; n >= shortest && chosen === undefined; n--) chosen = forms(budget, n).find((l) => l.elided === 0);
    }
    // None does: one row goes to saying so, and the form showing most wins.
    chosen ??= all(budget - 1, Math.min(longest, 10)).reduce((a, b) => (b.elided < a.elided ? b : a));
  }
  const out = [...top, ...(chosen?.lines ?? []), ...f.nodes, ...f.rest];
  if (chosen !== undefined && chosen.elided > 0) {
    out.push(truncate(`… ${chosen.elided} more announced Service${chosen.elided === 1 ? '' : 's'} left out (no problem among them); -o wide shows all`, width));
  }
  return `${out.join('\n')}\n`;
}
