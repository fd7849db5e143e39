import { IpamState } from '../../../../src/core/ipam/ipam-state.js';
import type { PoolSpec, ServiceDecision, ServiceSpec } from '../../../../src/core/ipam/types.js';

let clock = 0;

/** A pool; creation times increase with each call unless given. */
export function pool(name: string, blocks: PoolSpec['blocks'], extra: Partial<PoolSpec> = {}): PoolSpec {
  clock++;
  return { name, creationTimestamp: `2026-01-01T00:${String(Math.floor(clock / 60) % 60).padStart(2, '0')}:${String(clock % 60).padStart(2, '0')}Z`, blocks, ...extra };
}

/** A LoadBalancer Service in "default"; creation times increase with each call unless given. */
export function svc(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  clock++;
  return {
    namespace: 'default',
    name,
    creationTimestamp: `2026-02-01T${String(Math.floor(clock / 3600) % 24).padStart(2, '0')}:${String(Math.floor(clock / 60) % 60).padStart(2, '0')}:${String(clock % 60).padStart(2, '0')}Z`,
    type: 'LoadBalancer',
    ports: [{ port: 80, protocol: 'TCP' }],
    ...extra,
  };
}

export function state(pools: PoolSpec[], services: ServiceSpec[]): IpamState {
  const s = new IpamState();
  for (const p of pools) s.upsertPool(p);
  for (const v of services) s.upsertService(v);
  s.reconcile();
  return s;
}

export function decisionOf(s: IpamState, v: ServiceSpec): ServiceDecision {
  const d = s.decision(v.namespace, v.name);
  if (d === undefined) throw new Error(`no decision for ${v.namespace}/${v.name}`);
  return d;
}

export function ipsOf(s: IpamState, v: ServiceSpec): readonly string[] {
  return decisionOf(s, v).ips;
}

export function reasonOf(s: IpamState, v: ServiceSpec): string | undefined {
  return decisionOf(s, v).condition?.reason;
}
