/**
 * MetalLB's configuration (metallb.io/v1beta1 IPAddressPool and
 * L2Advertisement, and the metallb.io/ and metallb.universe.tf/ Service
 * annotations) converted to herald's API, which is Cilium's:
 * CiliumLoadBalancerIPPool, CiliumL2AnnouncementPolicy and lbipam.cilium.io/
 * annotations. Pure: objects in, objects and findings out.
 *
 * The rules (docs/install.md, "Move from MetalLB", has the table):
 * - Every address a Service holds today is pinned with lbipam.cilium.io/ips,
 *   so nothing moves whatever the pools' selectors say.
 * - One MetalLB pool is one herald pool (pools must not overlap in herald,
 *   so a pool is never split in two). What a single pool selector cannot
 *   express (autoAssign: false, OR-ed serviceSelectors, namespaceSelectors
 *   without the Namespaces) becomes an opt-in label, herald.io/pool=<pool>,
 *   added to the Services that use the pool now.
 * - One L2Advertisement is one policy, or several when it has several
 *   nodeSelectors or serviceSelectors (MetalLB ORs them; herald ORs policies),
 *   or covers some pools but not others whose Services a label can tell apart.
 * - An invalid object is reported (error) and left out; everything else is
 *   still converted. What depends on a left-out object says so (warning).
 */
import { formatIp, parseCidr, parseIp, type IpFamily } from '../core/ipam/address.js';
import {
  ANNOTATION_IPS, ANNOTATION_SHARING_CROSS_NAMESPACE, ANNOTATION_SHARING_KEY, PSEUDO_LABEL_NAME, PSEUDO_LABEL_NAMESPACE,
} from '../core/ipam/service-request.js';
import type { Labels } from '../core/label-selector.js';
import { isRecord, type Finding, type Level, type SourceObject } from './input.js';
import { andSelectors, matches, orAsOneSelector, readSelector, selectorKey, selectsEverything, type Selector } from './selectors.js';
import { fail, ok, type Result } from '../core/result.js';

/** The label a converted pool requires when its MetalLB rule has no selector form. */
export const OPT_IN_LABEL = 'herald.io/pool';
/**
 * Pools as cilium.io/v2, the version herald reads and Cilium serves from 1.18
 * on (v2alpha1 is deprecated there); policies exist only as v2alpha1.
 */
export const POOL_API = 'cilium.io/v2';
export const POLICY_API = 'cilium.io/v2alpha1';
/** More /24s than this in one block and the .0/.255 addresses are not cut out of it (a warning says so). */
export const MAX_BUGGY_SPLIT = 256;

export interface PoolBlock {
  cidr?: string;
  start?: string;
  stop?: string;
}

export interface ConvertedPool {
  readonly name: string;
  /** e.g. "IPAddressPool metallb-system/lan" */
  readonly from: string;
  readonly spec: { blocks: PoolBlock[]; serviceSelector?: Selector; allowFirstLastIPs?: 'No' };
  /** Written as comments above the object. */
  readonly notes: string[];
}

export interface ConvertedPolicy {
  readonly name: string;
  readonly from: string;
  readonly spec: {
    serviceSelector?: Selector;
    nodeSelector?: Selector;
    interfaces?: string[];
    loadBalancerIPs: true;
    externalIPs: false;
  };
  readonly notes: string[];
}

/** Annotations and labels to add to one existing Service. */
export interface ServiceChange {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly notes: string[];
}

export interface Conversion {
  readonly pools: readonly ConvertedPool[];
  readonly policies: readonly ConvertedPolicy[];
  readonly services: readonly ServiceChange[];
  readonly findings: readonly Finding[];
}

const METALLB_GROUP = 'metallb.io';
const CONVERTED_KINDS = new Set(['IPAddressPool', 'L2Advertisement']);
const BGP_KINDS = new Set(['BGPAdvertisement', 'BGPPeer', 'BFDProfile', 'Community']);
const STATUS_KINDS = new Set(['ServiceL2Status', 'ServiceBGPStatus', 'ConfigurationState']);
const L2_CLASS = 'io.cilium/l2-announcer';

/** MetalLB's Service annotations: the metallb.io/ form wins over the older metallb.universe.tf/ one, as in MetalLB. */
const MLB_ANNOTATION = {
  ips: ['metallb.io/loadBalancerIPs', 'metallb.universe.tf/loadBalancerIPs'],
  pool: ['metallb.io/address-pool', 'metallb.universe.tf/address-pool'],
  sharing: ['metallb.io/allow-shared-ip', 'metallb.universe.tf/allow-shared-ip'],
} as const;

interface Range {
  readonly family: IpFamily;
  readonly start: bigint;
  readonly end: bigint;
}

interface ParsedBlock {
  readonly kind: 'cidr' | 'range';
  readonly range: Range;
  readonly prefix: number;
}

interface Allocation {
  readonly priority: number;
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly Selector[];
  readonly serviceSelectors: readonly Selector[];
}

interface Pool {
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly labels: Labels;
  readonly blocks: readonly ParsedBlock[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly allocation: Allocation | undefined;
  /** false when the pool has errors: it is not converted. */
  readonly valid: boolean;
  ciliumName: string;
  selector: Selector | undefined;
  optIn: boolean;
  /** The ranges the converted pool contains, after .0/.255 were cut out. */
  emitted: Range[];
  advertised: boolean;
  converted: ConvertedPool | undefined;
}

interface Advertisement {
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly poolNames: readonly string[];
  readonly poolSelectors: readonly Selector[];
  readonly nodeSelectors: readonly Selector[];
  readonly serviceSelectors: readonly Selector[];
  readonly interfaces: readonly string[];
  covered: Pool[];
}

interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly source: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly loadBalancerClass: string | undefined;
  readonly ips: readonly string[];
}

class Findings {
  readonly list: Finding[] = [];
  add(level: Level, o: { source?: string; subject?: string }, message: string, field?: string): void {
    this.list.push({ level, source: o.source, subject: o.subject, field, message });
  }
  error(o: { source?: string; subject?: string }, message: string, field?: string): void { this.add('error', o, message, field); }
  warn(o: { source?: string; subject?: string }, message: string, field?: string): void { this.add('warning', o, message, field); }
  note(o: { source?: string; subject?: string }, message: string, field?: string): void { this.add('note', o, message, field); }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strings(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) && v.every((x): x is string => typeof x === 'string') ? v : undefined;
}

function stringMap(v: unknown): Record<string, string> | string {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) return 'is not a mapping';
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return `["${k}"] is not a string (quote it)`;
    out[k] = x;
  }
  return out;
}

function first(map: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const n of names) if (Object.hasOwn(map, n)) return map[n];
  return undefined;
}

function commaList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

// ---------------------------------------------------------------- addresses

/** One entry of spec.addresses, as MetalLB reads it: a CIDR, or "start-end" (spaces allowed around the dash). */
export function parseMetallbAddress(text: string): Result<ParsedBlock> {
  const t = text.trim();
  const dash = t.indexOf('-');
  if (dash >= 0) {
    const a = t.slice(0, dash).trim();
    const b = t.slice(dash + 1).trim();
    const pa = parseIp(a);
    if (!pa.ok) return fail(`"${text}": the start "${a}" is not an IP address`);
    const pb = parseIp(b);
    if (!pb.ok) return fail(`"${text}": the end "${b}" is not an IP address`);
    if (pa.value.family !== pb.value.family) return fail(`"${text}": the start and the end are of different IP families`);
    if (pa.value.value > pb.value.value) return fail(`"${text}": the start ${a} is after the end ${b}`);
    return ok({ kind: 'range', range: { family: pa.value.family, start: pa.value.value, end: pb.value.value }, prefix: -1 });
  }
  if (!t.includes('/')) {
    const one = parseIp(t);
    const hint = one.ok ? `; for this one address write ${t}/${one.value.family === 4 ? 32 : 128}` : '';
    return fail(`"${text}" is neither a CIDR (address/prefix) nor a start-end range${hint}`);
  }
  const c = parseCidr(t);
  if (!c.ok) return fail(`"${text}" is not a valid CIDR`);
  return ok({ kind: 'cidr', range: { family: c.value.family, start: c.value.start, end: c.value.end }, prefix: c.value.prefix });
}

function cidrText(b: ParsedBlock): string {
  return `${formatIp(b.range.family, b.range.start)}/${b.prefix}`;
}

/** MetalLB's "buggy" addresses: IPv4 ending in .0 or .255. */
function containsBuggy(r: Range): boolean {
  if (r.family !== 4) return false;
  return (r.start & 255n) === 0n || (r.end & 255n) === 255n || r.start >> 8n !== r.end >> 8n;
}

/** r without its .0 and .255 addresses, as ranges (one per /24 it touches). */
function withoutBuggy(r: Range): Range[] {
  const out: Range[] = [];
  for (let b = r.start >> 8n; b <= r.end >> 8n; b++) {
    const lo = r.start > (b << 8n) + 1n ? r.start : (b << 8n) + 1n;
    const hi = r.end < (b << 8n) + 254n ? r.end : (b << 8n) + 254n;
    if (lo <= hi) out.push({ family: 4, start: lo, end: hi });
  }
  return out;
}

function rangeBlock(r: Range): PoolBlock {
  return { start: formatIp(r.family, r.start), stop: formatIp(r.family, r.end) };
}

function rangeText(r: Range): string {
  return r.start === r.end ? formatIp(r.family, r.start) : `${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)}`;
}

function contains(ranges: readonly Range[], ip: string): boolean {
  const p = parseIp(ip);
  if (!p.ok) return false;
  return ranges.some((r) => r.family === p.value.family && r.start <= p.value.value && p.value.value <= r.end);
}

// ---------------------------------------------------------------- reading

/** Reads a pool; one with errors comes back not valid (it is not converted, but its addresses still explain warnings). */
function readPool(o: SourceObject, ns: string, name: string, subject: string, f: Findings): Pool | undefined {
  const at = { source: o.source, subject };
  const errorsBefore = f.list.length;
  const meta = isRecord(o.value.metadata) ? o.value.metadata : {};
  const labels = stringMap(meta.labels);
  if (typeof labels === 'string') f.error(at, labels, 'metadata.labels');
  const spec = o.value.spec;
  if (!isRecord(spec)) {
    f.error(at, 'is missing', 'spec');
    return undefined;
  }
  const blocks: ParsedBlock[] = [];
  const addresses = spec.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    f.error(at, 'must list at least one CIDR or start-end range', 'spec.addresses');
  } else {
    addresses.forEach((a, i) => {
      if (typeof a !== 'string') {
        f.error(at, 'is not a string', `spec.addresses[${i}]`);
        return;
      }
      const p = parseMetallbAddress(a);
      if (p.ok) blocks.push(p.value);
      else f.error(at, p.error, `spec.addresses[${i}]`);
    });
  }
  const bool = (field: string, fallback: boolean): boolean => {
    const v = spec[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    f.error(at, 'must be true or false', `spec.${field}`);
    return fallback;
  };
  const autoAssign = bool('autoAssign', true);
  const avoidBuggyIPs = bool('avoidBuggyIPs', false);
  let allocation: Allocation | undefined;
  const sa = spec.serviceAllocation;
  if (sa !== undefined && sa !== null) {
    if (!isRecord(sa)) {
      f.error(at, 'is not a mapping', 'spec.serviceAllocation');
    } else {
      const priority = sa.priority ?? 0;
      if (typeof priority !== 'number' || !Number.isInteger(priority)) f.error(at, 'must be a whole number', 'spec.serviceAllocation.priority');
      const namespaces = strings(sa.namespaces);
      if (namespaces === undefined) f.error(at, 'must be a list of namespace names', 'spec.serviceAllocation.namespaces');
      const selectors = (field: 'namespaceSelectors' | 'serviceSelectors'): Selector[] => {
        const list = sa[field] ?? [];
        if (!Array.isArray(list)) {
          f.error(at, 'must be a list of label selectors', `spec.serviceAllocation.${field}`);
          return [];
        }
        const out: Selector[] = [];
        list.forEach((s, i) => {
          const r = readSelector(s);
          if (r.ok) out.push(r.value);
          else f.error(at, r.error, `spec.serviceAllocation.${field}[${i}]`);
        });
        return out;
      };
      allocation = {
        priority: typeof priority === 'number' ? priority : 0,
        namespaces: namespaces ?? [],
        namespaceSelectors: selectors('namespaceSelectors'),
        serviceSelectors: selectors('serviceSelectors'),
      };
    }
  }
  return {
    namespace: ns, name, subject, labels: typeof labels === 'string' ? {} : labels, blocks, autoAssign, avoidBuggyIPs, allocation,
    valid: f.list.length === errorsBefore,
    ciliumName: name, selector: undefined, optIn: false, emitted: [], advertised: false, converted: undefined,
  };
}

function readAdvertisement(o: SourceObject, ns: string, name: string, subject: string, f: Findings): Advertisement | undefined {
  const at = { source: o.source, subject };
  const errorsBefore = f.list.length;
  const spec = o.value.spec ?? {};
  if (!isRecord(spec)) {
    f.error(at, 'is not a mapping', 'spec');
    return undefined;
  }
  const names = (field: string): string[] => {
    const v = strings(spec[field]);
    if (v === undefined) f.error(at, 'must be a list of strings', `spec.${field}`);
    return v ?? [];
  };
  const selectors = (field: string): Selector[] => {
    const list = spec[field] ?? [];
    if (!Array.isArray(list)) {
      f.error(at, 'must be a list of label selectors', `spec.${field}`);
      return [];
    }
    const out: Selector[] = [];
    list.forEach((s, i) => {
      const r = readSelector(s);
      if (r.ok) out.push(r.value);
      else f.error(at, r.error, `spec.${field}[${i}]`);
    });
    return out;
  };
  const poolNames = names('ipAddressPools');
  const interfaces = names('interfaces');
  interfaces.forEach((i, n) => { if (i.trim() === '') f.error(at, 'is empty', `spec.interfaces[${n}]`); });
  const adv: Advertisement = {
    namespace: ns, name, subject, poolNames, interfaces,
    poolSelectors: selectors('ipAddressPoolSelectors'),
    nodeSelectors: selectors('nodeSelectors'),
    serviceSelectors: selectors('serviceSelectors'),
    covered: [],
  };
  const preferred = spec.preferredNodeSelectors;
  if (f.list.length > errorsBefore) return undefined;
  if (Array.isArray(preferred) && preferred.length > 0) {
    f.warn(at, 'has no equivalent and was left out: herald ranks the eligible nodes of each Service by rendezvous hashing; restrict nodeSelectors instead if some nodes must never announce', 'spec.preferredNodeSelectors');
  }
  return adv;
}

function readService(o: SourceObject, ns: string, name: string, subject: string, f: Findings): Service | undefined {
  const at = { source: o.source, subject };
  const spec = isRecord(o.value.spec) ? o.value.spec : {};
  if (spec.type !== 'LoadBalancer') return undefined;
  const meta = isRecord(o.value.metadata) ? o.value.metadata : {};
  const labels = stringMap(meta.labels);
  const annotations = stringMap(meta.annotations);
  if (typeof labels === 'string') f.error(at, labels, 'metadata.labels');
  if (typeof annotations === 'string') f.error(at, annotations, 'metadata.annotations');
  if (typeof labels === 'string' || typeof annotations === 'string') return undefined;
  const status = isRecord(o.value.status) ? o.value.status : {};
  const lb = isRecord(status.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(lb.ingress) ? lb.ingress : [];
  const ips: string[] = [];
  ingress.forEach((e, i) => {
    const ip = isRecord(e) ? str(e.ip) : undefined;
    if (ip === undefined) return;
    if (parseIp(ip).ok) ips.push(ip);
    else f.warn(at, `"${ip}" is not an IP address; ignored`, `status.loadBalancer.ingress[${i}].ip`);
  });
  const cls = spec.loadBalancerClass;
  return { namespace: ns, name, subject, source: o.source, labels, annotations, loadBalancerClass: typeof cls === 'string' && cls !== '' ? cls : undefined, ips };
}

// ---------------------------------------------------------------- conversion

export function convertMetallb(objects: readonly SourceObject[]): Conversion {
  const f = new Findings();
  const pools: Pool[] = [];
  const advs: Advertisement[] = [];
  const services: Service[] = [];
  const namespaces = new Map<string, Labels>();
  let namespacesGiven = false;
  const seen = new Map<string, string>();

  for (const o of objects) {
    const apiVersion = str(o.value.apiVersion);
    const kind = str(o.value.kind);
    const meta = isRecord(o.value.metadata) ? o.value.metadata : undefined;
    const name = str(meta?.name);
    const at = { source: o.source, subject: kind && name ? `${kind} ${name}` : kind };
    if (apiVersion === undefined || kind === undefined) {
      f.error(at, 'is not a Kubernetes object: apiVersion and kind are required', apiVersion === undefined ? 'apiVersion' : 'kind');
      continue;
    }
    if (name === undefined || name === '') {
      f.error(at, 'is required', 'metadata.name');
      continue;
    }
    const namespaced = str(meta?.namespace);
    const ns = namespaced ?? (kind === 'Service' ? 'default' : '');
    const subject = `${kind} ${ns ? `${ns}/` : ''}${name}`;
    const here = { source: o.source, subject };
    const group = groupOf(apiVersion);
    const id = `${group}/${kind}/${ns}/${name}`;
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      f.warn(here, `appears again (first at ${earlier}); the first one is used`);
      continue;
    }
    seen.set(id, o.source);

    if (group === METALLB_GROUP && CONVERTED_KINDS.has(kind)) {
      if (apiVersion !== 'metallb.io/v1beta1') {
        f.error(here, `${apiVersion} is not supported for ${kind}; herald reads metallb.io/v1beta1`, 'apiVersion');
        continue;
      }
      if (kind === 'IPAddressPool') {
        const p = readPool(o, ns, name, subject, f);
        if (p) pools.push(p);
      } else {
        const a = readAdvertisement(o, ns, name, subject, f);
        if (a) advs.push(a);
      }
    } else if (group === METALLB_GROUP && BGP_KINDS.has(kind)) {
      f.warn(here, 'not converted: herald announces addresses on the LAN (ARP/NDP) only and has no BGP; addresses MetalLB announced over BGP will not be routed');
    } else if (group === METALLB_GROUP && STATUS_KINDS.has(kind)) {
      f.note(here, 'is status written by MetalLB; nothing to convert');
    } else if (group === METALLB_GROUP && kind === 'AddressPool') {
      f.error(here, 'AddressPool, which MetalLB stopped reading in v0.14.2, is not converted: write it as an IPAddressPool and an L2Advertisement first, then convert those');
    } else if (apiVersion === 'v1' && kind === 'Service') {
      const s = readService(o, ns, name, subject, f);
      if (s) services.push(s);
    } else if (apiVersion === 'v1' && kind === 'Namespace') {
      namespacesGiven = true;
      const labels = stringMap(meta?.labels);
      namespaces.set(name, typeof labels === 'string' ? {} : labels);
    } else if (apiVersion === 'v1' && kind === 'ConfigMap' && isRecord(o.value.data) && typeof o.value.data.config === 'string' && o.value.data.config.includes('address-pools')) {
      f.error(here, 'looks like MetalLB\'s configuration from before v0.13 (a ConfigMap), which is not converted: turn it into IPAddressPool and L2Advertisement objects with MetalLB\'s configmaptocrs tool, then convert those');
    } else if (group === 'cilium.io' && (kind === 'CiliumLoadBalancerIPPool' || kind === 'CiliumL2AnnouncementPolicy')) {
      f.note(here, 'is already herald\'s API; left as it is and not printed (its overlap with converted pools is not checked)');
    } else {
      f.error(here, `unknown kind ${kind} (${apiVersion}): herald convert metallb reads metallb.io IPAddressPool and L2Advertisement, Services and Namespaces; this object was skipped`, 'kind');
    }
  }

  if (!pools.some((p) => p.valid)) {
    f.error({}, 'the input has no valid IPAddressPool (metallb.io/v1beta1): nothing to convert; feed it the output of kubectl get namespaces,ipaddresspools,l2advertisements,services -A -o yaml');
  }

  namePools(pools, f);
  for (const p of pools) if (p.valid) convertPool(p, namespaces, namespacesGiven, f);
  warnAboutPoolOrder(pools, f);
  warnAboutOverlaps(pools, f);
  const policies = convertAdvertisements(advs, pools, f);
  const changes = convertServices(services, pools, advs, policies, f);
  return {
    pools: pools.flatMap((p) => (p.converted ? [p.converted] : [])),
    policies,
    services: changes,
    findings: f.list,
  };
}

/** Cilium pools are cluster-wide: the same name in two MetalLB namespaces becomes <namespace>-<name>. */
function namePools(pools: Pool[], f: Findings): void {
  const count = new Map<string, number>();
  for (const p of pools) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  for (const p of pools) {
    if ((count.get(p.name) ?? 0) > 1 && p.namespace !== '') {
      p.ciliumName = `${p.namespace}-${p.name}`;
      f.note({ subject: p.subject }, `is named ${p.ciliumName}: pools are cluster-wide in herald and another namespace has a pool called ${p.name}`);
    }
  }
}

/** A label value naming the pool: the pool's name when it fits in 63 characters. */
export function optInValue(poolName: string): string {
  if (poolName.length <= 63) return poolName;
  let h = 0x811c9dc5;
  for (const c of poolName) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return `${poolName.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${h.toString(16).padStart(8, '0')}`;
}

function convertPool(p: Pool, namespaces: ReadonlyMap<string, Labels>, namespacesGiven: boolean, f: Findings): void {
  const at = { subject: p.subject };
  const notes: string[] = [];
  const optInReasons: string[] = [];
  if (!p.autoAssign) optInReasons.push('autoAssign is false (herald has no such switch)');
  const parts: (Selector | undefined)[] = [];
  const a = p.allocation;
  if (a) {
    const names = new Set(a.namespaces);
    let unresolved = false;
    if (a.namespaceSelectors.length > 0) {
      if (!namespacesGiven) {
        unresolved = true;
        optInReasons.push('serviceAllocation.namespaceSelectors select Namespaces, and the input has no Namespace objects to resolve them (add namespaces to the kubectl get)');
      } else {
        const matched = [...namespaces].filter(([, labels]) => a.namespaceSelectors.some((s) => matches(s, labels))).map(([n]) => n);
        matched.forEach((n) => names.add(n));
        notes.push(`serviceAllocation.namespaceSelectors resolved to namespaces ${matched.length > 0 ? matched.sort().join(', ') : '(none)'}; MetalLB re-resolves them when Namespaces change, this selector does not`);
      }
    }
    if (names.size > 0) {
      parts.push({ matchExpressions: [{ key: PSEUDO_LABEL_NAMESPACE, operator: 'In', values: [...names].sort() }] });
    }
    if (a.serviceSelectors.length === 1) {
      parts.push(a.serviceSelectors[0]);
    } else if (a.serviceSelectors.length > 1) {
      const one = orAsOneSelector(a.serviceSelectors);
      if (one) parts.push(one);
      else optInReasons.push('serviceAllocation.serviceSelectors are OR-ed in MetalLB and a pool has one selector');
    }
    if (!unresolved && names.size === 0 && a.serviceSelectors.length === 0 && a.namespaceSelectors.length > 0) {
      // MetalLB: namespaceSelectors that match no namespace leave the pool to explicit requests only.
      optInReasons.push('serviceAllocation.namespaceSelectors match no namespace, so MetalLB gave its addresses only on request');
    }
    if (a.priority !== 0) {
      notes.push(`serviceAllocation.priority ${a.priority} has no equivalent: herald takes the oldest pool (then by name) that selects a Service`);
    }
  }
  p.optIn = optInReasons.length > 0;
  if (p.optIn) {
    parts.push({ matchLabels: { [OPT_IN_LABEL]: optInValue(p.ciliumName) } });
    const msg = `takes only Services labelled ${OPT_IN_LABEL}=${optInValue(p.ciliumName)}, because ${optInReasons.join('; and ')}. The Services that hold its addresses now get the label; add it to any new Service that should use this pool`;
    f.warn(at, msg);
    notes.push(`This pool ${msg}.`);
  }
  p.selector = andSelectors(...parts);

  const blocks: PoolBlock[] = [];
  const emitted: Range[] = [];
  let allowFirstLastIPs: 'No' | undefined;
  if (p.avoidBuggyIPs && p.blocks.every((b) => b.kind === 'cidr' && b.range.family === 4 && b.prefix === 24)) {
    // Exactly the first and last address of each /24: allowFirstLastIPs says it.
    allowFirstLastIPs = 'No';
    for (const b of p.blocks) {
      blocks.push({ cidr: cidrText(b) });
      emitted.push({ family: 4, start: b.range.start + 1n, end: b.range.end - 1n });
    }
    notes.push('avoidBuggyIPs: allowFirstLastIPs "No" reserves the .0 and .255 of each /24 block');
  } else {
    for (const b of p.blocks) {
      if (p.avoidBuggyIPs && containsBuggy(b.range)) {
        const slices = (b.range.end >> 8n) - (b.range.start >> 8n) + 1n;
        if (slices <= BigInt(MAX_BUGGY_SPLIT)) {
          const pieces = withoutBuggy(b.range);
          pieces.forEach((r) => blocks.push(rangeBlock(r)));
          emitted.push(...pieces);
          notes.push(`avoidBuggyIPs: ${b.kind === 'cidr' ? cidrText(b) : rangeText(b.range)} is written as ${pieces.length} range(s) without its .0 and .255 addresses`);
          continue;
        }
        const msg = `avoidBuggyIPs: ${b.kind === 'cidr' ? cidrText(b) : rangeText(b.range)} spans more than ${MAX_BUGGY_SPLIT} /24s and is kept whole, so herald may hand out its .0 and .255 addresses; split the block if that matters`;
        f.warn(at, msg);
        notes.push(msg);
      }
      blocks.push(b.kind === 'cidr' ? { cidr: cidrText(b) } : rangeBlock(b.range));
      emitted.push(b.range);
    }
  }
  p.emitted = emitted;
  if (blocks.length === 0) {
    f.error(at, 'has no address left once the .0 and .255 addresses are left out (avoidBuggyIPs); not converted', 'spec.addresses');
    return;
  }
  const spec: ConvertedPool['spec'] = { blocks };
  if (p.selector) spec.serviceSelector = p.selector;
  if (allowFirstLastIPs) spec.allowFirstLastIPs = allowFirstLastIPs;
  p.converted = { name: p.ciliumName, from: p.subject, spec, notes };
}

function warnAboutPoolOrder(pools: readonly Pool[], f: Findings): void {
  const auto = pools.filter((p) => p.converted && p.autoAssign && !p.optIn);
  const pinned = auto.filter((p) => p.allocation && !selectsEverything(p.selector));
  const general = auto.filter((p) => selectsEverything(p.selector));
  if (pinned.length > 0 && general.length > 0) {
    f.warn({}, `MetalLB gives new Services addresses from their serviceAllocation pools (${pinned.map((p) => p.ciliumName).join(', ')}) before the general ones (${general.map((p) => p.ciliumName).join(', ')}); herald takes the oldest pool that selects the Service, then by name. Addresses held now do not move (they are pinned); for new Services, create the preferred pools first`);
  }
}

function warnAboutOverlaps(pools: readonly Pool[], f: Findings): void {
  const live = pools.filter((p) => p.converted);
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      const a = live[i] as Pool;
      const b = live[j] as Pool;
      const hit = a.emitted.some((x) => b.emitted.some((y) => x.family === y.family && x.start <= y.end && y.start <= x.end));
      if (hit) {
        f.warn({ subject: b.subject }, `overlaps pool ${a.ciliumName}: in herald (and Cilium) the newer of two overlapping pools is conflicting and allocates nothing`);
      }
    }
  }
}

// ---------------------------------------------------------------- L2 advertisements

/** MetalLB reads pools and advertisements from its own namespace; objects without one (from files) match any. */
function sameNamespace(a: string, b: string): boolean {
  return a === '' || b === '' || a === b;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function convertAdvertisements(advs: readonly Advertisement[], pools: readonly Pool[], f: Findings): ConvertedPolicy[] {
  const live = pools.filter((p) => p.converted);
  const out: ConvertedPolicy[] = [];
  const used = new Set<string>();
  const nameCount = new Map<string, number>();
  for (const a of advs) nameCount.set(a.name, (nameCount.get(a.name) ?? 0) + 1);
  const unique = (base: string): string => {
    let n = base;
    for (let i = 2; used.has(n); i++) n = `${base}-${i}`;
    used.add(n);
    return n;
  };
  if (advs.length === 0 && live.length > 0) {
    f.warn({}, 'the input has no L2Advertisement: no CiliumL2AnnouncementPolicy was written, so herald will announce nothing until you add one (MetalLB, too, announces only what an L2Advertisement covers)');
  }
  for (const a of advs) {
    const at = { subject: a.subject };
    const inNamespace = live.filter((p) => sameNamespace(p.namespace, a.namespace));
    const allInNamespace = pools.filter((p) => sameNamespace(p.namespace, a.namespace));
    if (a.poolNames.length === 0 && a.poolSelectors.length === 0) {
      a.covered = inNamespace;
    } else {
      for (const n of a.poolNames) {
        if (!allInNamespace.some((p) => p.name === n)) f.warn(at, `names pool ${n}, which is not in the input (or was not converted)`, 'spec.ipAddressPools');
      }
      a.covered = inNamespace.filter((p) => a.poolNames.includes(p.name) || a.poolSelectors.some((s) => matches(s, p.labels)));
    }
    if (a.covered.length === 0) {
      f.warn(at, 'covers no converted pool; no policy written for it');
      continue;
    }
    a.covered.forEach((p) => { p.advertised = true; });
    const notes: string[] = [];
    const uncovered = inNamespace.filter((p) => !a.covered.includes(p));
    let poolVariants: { label: string; selector: Selector | undefined }[];
    if (uncovered.length === 0) {
      poolVariants = [{ label: '', selector: undefined }];
    } else if (a.covered.some((p) => selectsEverything(p.selector))) {
      // Every Service of an opt-in pool carries its label, so NotIn leaves exactly those out.
      if (uncovered.every((p) => p.optIn)) {
        poolVariants = [{ label: '', selector: { matchExpressions: [{ key: OPT_IN_LABEL, operator: 'NotIn', values: uncovered.map((p) => optInValue(p.ciliumName)) }] } }];
        notes.push(`This policy leaves out the Services of pools ${uncovered.map((p) => p.ciliumName).join(', ')} by their ${OPT_IN_LABEL} label, as MetalLB left those pools out`);
      } else {
        poolVariants = [{ label: '', selector: undefined }];
        const msg = `covers pools ${a.covered.map((p) => p.ciliumName).join(', ')} but not ${uncovered.map((p) => p.ciliumName).join(', ')}; herald's policies select Services, not pools, and no label tells those pools' Services apart, so this policy announces every Service (the per-Service check below names any that MetalLB did not announce)`;
        f.warn(at, msg);
        notes.push(`The L2Advertisement ${msg}.`);
      }
    } else {
      const byKey = new Map<string, { label: string; selector: Selector | undefined }>();
      for (const p of a.covered) {
        const k = selectorKey(p.selector);
        if (!byKey.has(k)) byKey.set(k, { label: p.ciliumName, selector: p.selector });
      }
      poolVariants = [...byKey.values()];
      notes.push(`This policy selects the Services that pools ${a.covered.map((p) => p.ciliumName).join(', ')} select, as it covers only those pools`);
    }
    const svcVariants: (Selector | undefined)[] = a.serviceSelectors.length > 0 ? [...a.serviceSelectors] : [undefined];
    const nodeVariants: (Selector | undefined)[] = a.nodeSelectors.length > 0 ? [...a.nodeSelectors] : [undefined];
    if (svcVariants.length > 1) notes.push('One policy per serviceSelector: MetalLB ORs them, herald ORs policies');
    if (nodeVariants.length > 1) notes.push('One policy per nodeSelector: MetalLB ORs them, herald ORs policies');
    const interfaces = a.interfaces.map((i) => `^${escapeRegex(i)}$`);
    if (interfaces.length > 0) notes.push(`Interfaces are regular expressions in herald: ${a.interfaces.join(', ')} anchored as ${interfaces.join(', ')}`);
    const base = (nameCount.get(a.name) ?? 0) > 1 && a.namespace !== '' ? `${a.namespace}-${a.name}` : a.name;
    poolVariants.forEach((pv) => {
      svcVariants.forEach((sv, si) => {
        nodeVariants.forEach((nv, ni) => {
          let name = base;
          if (poolVariants.length > 1) name += `-${pv.label}`;
          if (svcVariants.length > 1) name += `-s${si + 1}`;
          if (nodeVariants.length > 1) name += `-n${ni + 1}`;
          const spec: ConvertedPolicy['spec'] = { loadBalancerIPs: true, externalIPs: false };
          const serviceSelector = andSelectors(pv.selector, sv);
          if (serviceSelector) spec.serviceSelector = serviceSelector;
          if (nv && !selectsEverything(nv)) spec.nodeSelector = nv;
          if (interfaces.length > 0) spec.interfaces = interfaces;
          out.push({ name: unique(name), from: a.subject, spec, notes: [...notes] });
        });
      });
    });
  }
  if (advs.length > 0) {
    for (const p of live.filter((x) => !x.advertised)) {
      f.warn({ subject: p.subject }, 'is covered by no L2Advertisement (MetalLB announced it over BGP only, or not at all); herald allocates from it, and announces its addresses only for Services that a policy selects');
    }
  }
  return out;
}

// ---------------------------------------------------------------- Services

function selectorLabels(s: Service, extra: Readonly<Record<string, string>>): Labels {
  return { ...s.labels, ...extra, [PSEUDO_LABEL_NAMESPACE]: s.namespace, [PSEUDO_LABEL_NAME]: s.name };
}

function convertServices(
  services: readonly Service[], pools: readonly Pool[], advs: readonly Advertisement[], policies: readonly ConvertedPolicy[], f: Findings,
): ServiceChange[] {
  const live = pools.filter((p) => p.converted);
  const out: ServiceChange[] = [];
  const sharing = new Map<string, Set<string>>();
  for (const s of services) {
    const key = first(s.annotations, MLB_ANNOTATION.sharing);
    if (key !== undefined && key !== '') {
      const set = sharing.get(key) ?? new Set<string>();
      set.add(s.namespace);
      sharing.set(key, set);
    }
  }
  for (const s of services) {
    const at = { source: s.source, subject: s.subject };
    const notes: string[] = [];
    const annotations: Record<string, string> = {};
    const labels: Record<string, string> = {};
    if (s.loadBalancerClass !== undefined && s.loadBalancerClass !== L2_CLASS) {
      if (!s.ips.some((ip) => pools.some((p) => p.blocks.some((b) => contains([b.range], ip))))) {
        f.note(at, `has loadBalancerClass ${s.loadBalancerClass} and no address from a MetalLB pool: not MetalLB's, left alone`);
        continue;
      }
      f.warn(at, `has loadBalancerClass ${s.loadBalancerClass}: herald serves it only when its operator and agents run with --load-balancer-classes=${s.loadBalancerClass} (by default it serves Services without a class and ${L2_CLASS})`);
    }
    const requested = commaList(first(s.annotations, MLB_ANNOTATION.ips)).filter((ip) => {
      if (parseIp(ip).ok) return true;
      f.warn(at, `asks MetalLB for "${ip}", which is not an IP address; ignored`, `metadata.annotations["${MLB_ANNOTATION.ips[0]}"]`);
      return false;
    });
    const wantedPool = first(s.annotations, MLB_ANNOTATION.pool);
    const key = first(s.annotations, MLB_ANNOTATION.sharing);

    // Pin what the Service holds now, so no address moves; else keep what it asked MetalLB for.
    const pin = s.ips.length > 0 ? [...s.ips] : requested;
    if (pin.length > 0) {
      const value = pin.join(',');
      const current = first(s.annotations, ANNOTATION_IPS);
      if (current !== value) annotations[ANNOTATION_IPS[0]] = value;
      if (current !== undefined && current !== value) {
        f.warn(at, `already has ${ANNOTATION_IPS[0]}: ${current}; replaced by ${value}, the addresses it ${s.ips.length > 0 ? 'holds' : 'asked MetalLB for'}`);
      }
      if (s.ips.length > 0 && requested.length > 0 && [...requested].sort().join(',') !== [...s.ips].sort().join(',')) {
        f.warn(at, `holds ${s.ips.join(', ')} but asks MetalLB for ${requested.join(', ')}; pinned what it holds, so nothing moves`);
      }
    }
    if (key !== undefined && key !== '') {
      if (first(s.annotations, ANNOTATION_SHARING_KEY) !== key) annotations[ANNOTATION_SHARING_KEY[0]] = key;
      const others = [...(sharing.get(key) ?? [])].filter((n) => n !== s.namespace).sort();
      if (others.length > 0) {
        const value = others.join(',');
        if (first(s.annotations, ANNOTATION_SHARING_CROSS_NAMESPACE) !== value) annotations[ANNOTATION_SHARING_CROSS_NAMESPACE[0]] = value;
        notes.push(`Shares key ${key} with namespaces ${value}: MetalLB shares a key across all namespaces, herald only between namespaces that list each other (use * for any)`);
      }
    }

    // Pools that need the opt-in label: those holding its addresses, and the one it asks for by name.
    const holding = new Map<string, Pool | undefined>();
    for (const ip of pin) holding.set(ip, live.find((p) => contains(p.emitted, ip)));
    const candidates = wantedPool === undefined ? [] : pools.filter((p) => p.name === wantedPool);
    const named = candidates.length === 1 ? candidates[0] : undefined;
    for (const p of [...holding.values(), ...(pin.length === 0 && named ? [named] : [])]) {
      if (p?.optIn && p.converted && s.labels[OPT_IN_LABEL] !== optInValue(p.ciliumName)) labels[OPT_IN_LABEL] = optInValue(p.ciliumName);
    }

    const seen = selectorLabels(s, labels);
    for (const [ip, p] of holding) {
      if (p === undefined) {
        const skipped = pools.find((q) => !q.converted && q.blocks.some((b) => contains([b.range], ip)));
        const inBuggy = pools.find((q) => q.converted && q.blocks.some((b) => contains([b.range], ip)));
        const why = skipped ? `its pool ${skipped.name} was not converted`
          : inBuggy ? `it is a .0 or .255 address left out of pool ${inBuggy.ciliumName} (avoidBuggyIPs)`
            : 'no converted pool contains it';
        f.warn(at, `${ip} will not be kept by herald: ${why}, so herald's operator would take the address off the Service (no_pool)`);
      } else if (!matches(p.selector, seen)) {
        f.warn(at, `${ip} is in pool ${p.ciliumName}, whose serviceSelector does not select this Service; herald will not keep it (pool_selector_mismatch) unless the Service's labels change`);
      }
    }
    if (wantedPool !== undefined && wantedPool !== '') {
      if (named === undefined) {
        f.warn(at, candidates.length > 1
          ? `asks for pool ${wantedPool} (address-pool annotation), and the input has pools of that name in several namespaces`
          : `asks for pool ${wantedPool} (address-pool annotation), which is not in the input`);
      } else if (!named.converted) {
        f.warn(at, `asks for pool ${wantedPool} (address-pool annotation), which was not converted`);
      } else if (!named.optIn) {
        const msg = `asks for pool ${wantedPool} (address-pool annotation); herald has no per-Service pool choice and takes the oldest pool that selects it${pin.length > 0 ? ' (its current address is pinned, so it stays)' : ''}`;
        if (pin.length > 0) notes.push(msg);
        else f.warn(at, msg);
      }
    }
    if (s.ips.length > 0 && advs.length > 0) checkAnnounced(s, seen, live, advs, policies, f);
    if (Object.keys(annotations).length === 0 && Object.keys(labels).length === 0) continue;
    out.push({ namespace: s.namespace, name: s.name, annotations, labels, notes });
  }
  return out;
}

/** Compares, for a Service that holds addresses, whether MetalLB announced it on L2 and whether the policies will. */
function checkAnnounced(
  s: Service, seen: Labels, live: readonly Pool[], advs: readonly Advertisement[], policies: readonly ConvertedPolicy[], f: Findings,
): void {
  const byMetallb = s.ips.some((ip) => {
    const p = live.find((x) => contains(x.emitted, ip));
    return p !== undefined && advs.some((a) => a.covered.includes(p) && (a.serviceSelectors.length === 0 || a.serviceSelectors.some((sel) => matches(sel, s.labels))));
  });
  const byHerald = policies.some((pol) => matches(pol.spec.serviceSelector, seen));
  const at = { source: s.source, subject: s.subject };
  if (byMetallb && !byHerald) f.warn(at, 'was announced by MetalLB on L2, but no converted policy selects it');
  if (!byMetallb && byHerald) f.warn(at, 'was not announced by MetalLB on L2, but a converted policy selects it');
}
