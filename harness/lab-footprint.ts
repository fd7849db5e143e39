/**
 * What a lab leaves on the machine, for the teardown tests: its network
 * namespaces (by the testbed's prefix) and its processes, those in the
 * namespaces and those in the root namespace, which all name the lab's
 * directory on their command line (etcd, the apiserver, the controllers, the
 * operator, the forwarders).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The lab's namespaces now. */
export function labNamespaces(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n').map((l) => l.split(' ')[0] ?? '').filter((ns) => ns !== '' && ns.startsWith(prefix));
}

/** The pids of the lab's processes now. */
export function labProcesses(prefix: string, dir: string): Set<string> {
  const pids = new Set<string>();
  for (const ns of labNamespaces(prefix)) {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) pids.add(pid);
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) pids.add(pid);
    } catch { /* gone */ }
  }
  return pids;
}

/** Which of these pids still run. */
export function stillRunning(pids: Iterable<string>): string[] {
  return [...pids].filter((pid) => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch {
      return false;
    }
  });
}
