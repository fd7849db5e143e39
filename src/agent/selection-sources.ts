/** The core's selection, built from what the agent's reflectors hold. */
import { compileL2Policy, type CompiledL2Policy } from '../core/l2/l2-policy.js';
import { poolRanges, selectL2, type L2Selection, type SelectionOptions } from '../core/l2/selection.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { toPoolSpec } from '../operator/convert.js';
import {
  endpointFacts, owningGateway, toL2Node, toL2Service, toPolicySpec,
  type EndpointSliceObject, type NodeObject, type PolicyObject,
} from './convert.js';

export interface SelectionSources {
  readonly policies: readonly PolicyObject[];
  readonly services: readonly ServiceObject[];
  readonly nodes: readonly NodeObject[];
  readonly slices: readonly EndpointSliceObject[];
  readonly pools: readonly PoolObject[];
  /** Labels of each Gateway, by namespace/name (seed 004). */
  readonly gatewayLabels: ReadonlyMap<string, Record<string, string>>;
  /** A node's up links: our own from the link inventory, the others' from their node Leases (minus links they are unreachable on). */
  readonly upLinksOf: (node: string) => readonly string[];
}

export class SelectionBuilder {
  /** Compiled policies by name; a policy is compiled again only when its resourceVersion changes. */
  private compiled = new Map<string, { rv: string; policy: CompiledL2Policy }>();

  constructor(private readonly options: SelectionOptions) {}

  compile(p: PolicyObject): CompiledL2Policy {
    const rv = p.metadata.resourceVersion ?? '';
    const known = this.compiled.get(p.metadata.name);
    if (known?.rv === rv) return known.policy;
    const policy = compileL2Policy(toPolicySpec(p));
    this.compiled.set(p.metadata.name, { rv, policy });
    return policy;
  }

  build(src: SelectionSources): L2Selection {
    const policies = src.policies.map((p) => this.compile(p));
    // Forget deleted policies.
    const names = new Set(src.policies.map((p) => p.metadata.name));
    for (const name of this.compiled.keys()) if (!names.has(name)) this.compiled.delete(name);
    const services = src.services.map((svc) => {
      const gw = owningGateway(svc);
      return toL2Service(svc, gw === undefined ? undefined : src.gatewayLabels.get(`${svc.metadata.namespace ?? ''}/${gw}`));
    });
    return selectL2({
      policies, services,
      nodes: src.nodes.map((n) => toL2Node(n, src.upLinksOf(n.metadata.name))),
      endpoints: endpointFacts(src.slices),
      poolRanges: poolRanges(src.pools.map(toPoolSpec)),
      options: this.options,
    });
  }
}
