/** One network link as herald cares about it. */
export interface Link {
  readonly name: string;
  readonly index: number;
  /** Lower-case colon form; undefined for links without a link-layer address. */
  readonly mac: string | undefined;
  /** Administratively up (IFF_UP). */
  readonly adminUp: boolean;
  /** Up and with carrier (IFF_UP and IFF_LOWER_UP): frames can flow. */
  readonly up: boolean;
  /** `ip` link kind: veth, vlan, bridge, ...; "device" for plain NICs, "loopback" for lo. */
  readonly kind: string;
  /** The lower link of a VLAN, macvlan or veth (when known). */
  readonly parent: string | undefined;
  readonly vlanId: number | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses `ip -json -details link show`. Entries that lack a name or index are
 * skipped rather than failing the whole inventory.
 */
export function parseIpLinkJson(text: string): Link[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error('ip -json link: expected an array');
  const links: Link[] = [];
  for (const raw of data) {
    if (!isRecord(raw)) continue;
    const name = raw.ifname;
    const index = raw.ifindex;
    if (typeof name !== 'string' || typeof index !== 'number') continue;
    const flags = Array.isArray(raw.flags) ? raw.flags.filter((f): f is string => typeof f === 'string') : [];
    const linkinfo = isRecord(raw.linkinfo) ? raw.linkinfo : undefined;
    const infoData = linkinfo && isRecord(linkinfo.info_data) ? linkinfo.info_data : undefined;
    const kind = typeof linkinfo?.info_kind === 'string'
      ? linkinfo.info_kind
      : raw.link_type === 'loopback' ? 'loopback' : 'device';
    const address = typeof raw.address === 'string' && raw.link_type === 'ether' ? raw.address.toLowerCase() : undefined;
    const adminUp = flags.includes('UP');
    links.push({
      name,
      index,
      mac: address,
      adminUp,
      up: adminUp && flags.includes('LOWER_UP'),
      kind,
      parent: typeof raw.link === 'string' ? raw.link : undefined,
      vlanId: kind === 'vlan' && typeof infoData?.id === 'number' ? infoData.id : undefined,
    });
  }
  return links;
}

export interface LinkChange {
  readonly added: readonly Link[];
  readonly removed: readonly Link[];
  /** Same name, different index, MAC or state. */
  readonly changed: readonly { readonly before: Link; readonly after: Link }[];
}

export function diffLinks(before: ReadonlyMap<string, Link>, after: ReadonlyMap<string, Link>): LinkChange {
  const added: Link[] = [];
  const removed: Link[] = [];
  const changed: { before: Link; after: Link }[] = [];
  for (const [name, link] of after) {
    const old = before.get(name);
    if (!old) added.push(link);
    else if (old.index !== link.index || old.mac !== link.mac || old.up !== link.up || old.adminUp !== link.adminUp) {
      changed.push({ before: old, after: link });
    }
  }
  for (const [name, link] of before) if (!after.has(name)) removed.push(link);
  return { added, removed, changed };
}
