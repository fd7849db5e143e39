/**
 * The memory floor under `herald agent`: a Node process that loads some of
 * the modules the agent loads, does nothing else, waits, and prints its RSS
 * as one JSON line. Run by bench/agent-memory.ts.
 *
 *   node [--expose-gc] dist/bench/agent-memory-floor.js <what> [waitMs]
 *
 * what: empty (bare Node), client-node (@kubernetes/client-node alone),
 * all-commands (the four commands, which main.js imported eagerly before it
 * loaded only the one that runs), agent-cli (only the agent command and what it imports),
 * agent-core (dist/src/agent/agent.js: the agent without the CLI, so without
 * client-node, which only the kubeconfig loader imports at run time).
 */
import { readFileSync } from 'node:fs';

const what = process.argv[2] ?? 'empty';
const waitMs = Number(process.argv[3] ?? 10_000);
const cli = (m: string): string => new URL(`../src/cli/${m}.js`, import.meta.url).href;

switch (what) {
  case 'empty': break;
  case 'client-node': await import('@kubernetes/client-node'); break;
  case 'all-commands': for (const m of ['agent', 'operator', 'announce', 'version']) await import(cli(m)); break;
  case 'agent-cli': await import(cli('agent')); break;
  case 'agent-core': await import(new URL('../src/agent/agent.js', import.meta.url).href); break;
  default: throw new Error(`unknown: ${what}`);
}
// With --expose-gc, the garbage of loading is collected first, so runs compare.
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
await new Promise((r) => setTimeout(r, waitMs));
const status = readFileSync('/proc/self/status', 'utf8');
const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
const mem = process.memoryUsage();
console.log(JSON.stringify({ what, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024, heapUsedMiB: mem.heapUsed / 2 ** 20, heapTotalMiB: mem.heapTotal / 2 ** 20 }));
