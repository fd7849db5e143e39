/** Lease names herald shares with Cilium (per Service) and its own (per agent). */

/** Cilium's per-Service Lease: its holder is the announcing node. */
export function serviceLeaseName(namespace: string, name: string): string {
  return `cilium-l2announce-${namespace}-${name}`;
}

/** herald's per-node Lease: the node's links, MACs and unreachable marks. */
export function nodeLeaseName(node: string): string {
  return `herald-agent-${node}`;
}
