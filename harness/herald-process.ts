/** Runs `herald <command>` from dist/ as a real child process, as a Deployment would. */
import { join } from 'node:path';
import { freePort } from './control-plane.js';
import { ManagedProcess } from './managed-process.js';
import { repoRoot } from './paths.js';
import { waitFor } from './wait.js';

export interface HeraldProcess {
  readonly proc: ManagedProcess;
  readonly healthPort: number;
  readonly logFile: string;
  /** GET a path on the health server (e.g. /metrics). */
  http(path: string): Promise<{ status: number; body: string }>;
  /** The value of one Prometheus sample, or undefined. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

export async function startHerald(command: string, args: readonly string[], logDir: string, name: string): Promise<HeraldProcess> {
  const healthPort = await freePort();
  const logFile = join(logDir, `${name}.log`);
  // HERALD_NODE_ARGS passes flags to Node itself, e.g. --cpu-prof for profiling.
  const nodeArgs = (process.env.HERALD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const proc = ManagedProcess.start(name, process.execPath, [
    ...nodeArgs, join(repoRoot, 'dist/src/cli/main.js'), command, `--health-port=${healthPort}`, '--health-address=127.0.0.1', ...args,
  ], { logFile });
  const http = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${healthPort}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  };
  const metric = async (metricName: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const { body } = await http('/metrics');
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of body.split('\n')) {
      if (!line.startsWith(metricName)) continue;
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (!m || m[1] !== metricName) continue;
      if (want.every((w) => (m[2] ?? '').includes(w))) return Number(m[3]);
    }
    return undefined;
  };
  try {
    await waitFor(`${name} to serve /readyz`, async () => {
      if (!proc.running) throw new Error(`${name} exited; see ${logFile}`);
      return (await http('/readyz')).status === 200 ? true : undefined;
    }, 60_000, 200);
  } catch (err) {
    await proc.stop(); // else it outlives the test
    throw err;
  }
  return { proc, healthPort, logFile, http, metric };
}
