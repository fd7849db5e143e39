import { readFileSync } from 'node:fs';
import { seedDirectory } from './paths.js';

/**
 * Seed 001's pool, unchanged but for its range: 172.19.0.240-250 becomes the
 * documentation range 192.0.2.240-250, the only addresses the lab may use.
 */
export function seed001Pool(): string {
  return readFileSync(`${seedDirectory}/001-ipam.yaml`, 'utf8')
    .replace('"172.19.0.240"', '"192.0.2.240"').replace('"172.19.0.250"', '"192.0.2.250"');
}
