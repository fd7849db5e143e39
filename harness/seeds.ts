import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ControlPlane } from './control-plane.js';
import { conditionOf, getPool, serviceIps } from './kube-objects.js';
import { seedDirectory } from './paths.js';
import { waitFor } from './wait.js';

/**
 * Seed 001's pool, unchanged but for its range: 172.19.0.240-250 becomes the
 * documentation range 192.0.2.240-250, the only addresses the lab may use.
 */
export function seed001Pool(): string {
  return readFileSync(`${seedDirectory}/001-ipam.yaml`, 'utf8')
    .replace('"172.19.0.240"', '"192.0.2.240"').replace('"172.19.0.250"', '"192.0.2.250"');
}

/**
 * Seed 001's two Services' addresses, once each has one: distinct, both
 * matching `range` (the seed's 172.19.0.240-250, or seed001Pool()'s).
 */
export async function seed001Addresses(cp: ControlPlane, range: RegExp): Promise<string[]> {
  const ips: string[] = [];
  for (const svc of ['app1-service', 'app2-service']) {
    ips.push(...await waitFor(`${svc} to get an address`, async () => {
      const got = await serviceIps(cp, svc);
      return got.length === 1 ? got : undefined;
    }, 60_000));
  }
  for (const ip of ips) assert.match(ip, range);
  assert.notEqual(ips[0], ips[1]);
  return ips;
}

/** Seed 001's pool once the operator has counted its two Services: 9 of 11 available, no conflict. */
export async function seed001PoolCounted(cp: ControlPlane): Promise<Awaited<ReturnType<typeof getPool>>> {
  const pool = await waitFor('default-pool to show 9 of 11 addresses available', async () => {
    const p = await getPool(cp, 'default-pool');
    return conditionOf(p, 'cilium.io/IPsAvailable')?.message === '9' ? p : undefined;
  }, 60_000);
  assert.equal(conditionOf(pool, 'cilium.io/IPsTotal')?.message, '11');
  assert.equal(conditionOf(pool, 'cilium.io/PoolConflict')?.status, 'False');
  return pool;
}
