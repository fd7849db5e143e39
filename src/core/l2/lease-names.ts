/** Lease names herald shares with Cilium (per Service) and its own (per agent). */

/** Cilium's per-Service Lease: its holder is the announcing node. */
export function serviceLeaseName(namespace: string, name: string): string {
  return `cilium-l2announce-${namespace}-${name}`;
}

/** herald's per-agent heartbeat Lease. */
export function heartbeatLeaseName(node: string): string {
  return `herald-agent-${node}`;
}
