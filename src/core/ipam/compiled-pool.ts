import { compileSelector, type Labels } from '../label-selector.js';
import { parseCidr, parseIp, type IpRange } from './address.js';
import { RangeAllocator } from './range-allocator.js';
import type { PoolSpec } from './types.js';

/** One block as written by the user, and the addresses it may hand out. */
export interface CompiledBlock {
  /** The block as the user wrote it, for messages: "192.0.2.0/24" or "192.0.2.1-192.0.2.9". */
  readonly text: string;
  /** Every address the block covers (used for overlap detection). */
  readonly range: IpRange;
  /** What may be allocated: the range minus reserved first/last addresses. */
  readonly allocatable: IpRange | undefined;
}

export interface CompiledPool {
  readonly spec: PoolSpec;
  readonly name: string;
  readonly blocks: readonly CompiledBlock[];
  readonly disabled: boolean;
  readonly problems: readonly string[];
  /** What herald read differently from what was written, and how (the pool still works). */
  readonly notices: readonly string[];
  /** undefined when the selector is invalid (see problems). */
  readonly selects: ((labels: Labels) => boolean) | undefined;
  readonly allocator: RangeAllocator;
}

/** Cilium's operator reads these fields as Go strings, where "" and missing are the same. */
const given = (text: string | undefined): text is string => text !== undefined && text !== '';

/**
 * One block, or what is wrong with it. The CRD accepts any strings here, as
 * Cilium's does, so every mistake ends up in the pool's PoolInvalid condition:
 * the message names the block by its position (1-based, as people count) and
 * quotes the offending values.
 */
function compileBlock(block: PoolSpec['blocks'][number], index: number, reserveFirstLast: boolean, notices: string[]): CompiledBlock | string {
  const where = `block ${index + 1}`;
  if (given(block.cidr)) {
    // Cilium uses cidr and ignores start/stop. A pool that works on Cilium must work here
    // (a migration must not leave Services pending), but not silently.
    if (given(block.start) || given(block.stop)) {
      const other = [given(block.start) ? `start "${block.start}"` : '', given(block.stop) ? `stop "${block.stop}"` : ''].filter(Boolean).join(' and ');
      notices.push(`${where}: has both cidr "${block.cidr}" and ${other}; using cidr, as Cilium does, and ignoring ${given(block.start) && given(block.stop) ? 'start and stop' : given(block.start) ? 'start' : 'stop'}`);
    }
    const parsed = parseCidr(block.cidr);
    if (!parsed.ok) return `${where}: cidr ${parsed.error}`;
    const { family, start, end } = parsed.value;
    const range: IpRange = { family, start, end };
    // Network and broadcast are reserved only where they exist: blocks of more than two addresses.
    const reserve = reserveFirstLast && end - start + 1n > 2n;
    return { text: block.cidr, range, allocatable: reserve ? { family, start: start + 1n, end: end - 1n } : range };
  }
  if (!given(block.start)) {
    return given(block.stop)
      ? `${where}: has stop "${block.stop}" but no start`
      : `${where}: has neither cidr nor start`;
  }
  const start = parseIp(block.start);
  if (!start.ok) return `${where}: start "${block.start}" is not an IPv4 or IPv6 address`;
  // An empty stop means start alone, as in Cilium.
  const stopText = given(block.stop) ? block.stop : block.start;
  const stop = parseIp(stopText);
  if (!stop.ok) return `${where}: stop "${stopText}" is not an IPv4 or IPv6 address`;
  if (start.value.family !== stop.value.family) {
    return `${where}: start "${block.start}" and stop "${stopText}" are of different IP families`;
  }
  if (stop.value.value < start.value.value) return `${where}: stop "${stopText}" is before start "${block.start}"`;
  const text = stopText === block.start ? block.start : `${block.start}-${stopText}`;
  const range: IpRange = { family: start.value.family, start: start.value.value, end: stop.value.value };
  return { text, range, allocatable: range };
}

export function compilePool(spec: PoolSpec): CompiledPool {
  const problems: string[] = [];
  const reserve = spec.allowFirstLastIPs === 'No';
  if (spec.allowFirstLastIPs !== undefined && !['', 'Yes', 'No'].includes(spec.allowFirstLastIPs)) {
    problems.push(`allowFirstLastIPs "${spec.allowFirstLastIPs}" is not Yes or No`);
  }
  const blocks: CompiledBlock[] = [];
  const notices: string[] = [];
  for (const [index, block] of spec.blocks.entries()) {
    const compiled = compileBlock(block, index, reserve, notices);
    if (typeof compiled === 'string') problems.push(compiled);
    else blocks.push(compiled);
  }
  const selector = compileSelector(spec.serviceSelector);
  if (!selector.ok) problems.push(`serviceSelector: ${selector.error}`);
  const ranges = blocks.flatMap((b) => (b.allocatable === undefined ? [] : [b.allocatable]));
  return {
    spec,
    name: spec.name,
    blocks,
    disabled: spec.disabled === true,
    problems,
    notices,
    selects: selector.ok ? selector.value.matches : undefined,
    allocator: new RangeAllocator(ranges),
  };
}

/** Pool order: older first, then by name; the same order decides conflicts. */
export function comparePools(a: PoolSpec, b: PoolSpec): number {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
