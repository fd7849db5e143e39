import { execFileSync } from 'node:child_process';
import { NS_PREFIX } from './testbed.js';

/**
 * Floods belong in a testbed's own namespaces, never on the host's links:
 * refuse to send unless this process runs in a network namespace the
 * testbed made (named with its prefix, as `ip netns identify` reports).
 */
export function assertInTestbedNamespace(): void {
  let name = '';
  try {
    name = execFileSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' }).trim();
  } catch { /* no name: not a namespace ip netns made */ }
  if (!name.startsWith(NS_PREFIX)) {
    throw new Error(`refusing to send test traffic outside a testbed namespace (this one is ${name === '' ? 'unnamed, maybe the host\'s' : `"${name}"`}): run it with ip netns exec in one`);
  }
}
