/**
 * Flags `herald explain` and `herald status` share (also as `kubectl herald
 * ...`): where the API is (kubeconfig as kubectl finds it), how to reach the
 * agents, and the output format.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { AGENT_ACCESS, type AgentAccess, type ReadOptions } from '../inspect/cluster-reader.js';
import { UsageError } from './command.js';
import { loadKubeConfig } from './kubeconfig.js';
import { parse } from './settings.js';

export const INSPECT_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  agents: { type: 'string' },
  'agent-port': { type: 'string' },
  'lease-namespace': { type: 'string' },
  timeout: { type: 'string' },
  'load-balancer-classes': { type: 'string' },
  'external-ips-must-be-in-pool': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const INSPECT_HELP = `  -o, --output FORMAT          text (default), json or yaml
      --kubeconfig FILE        default: $KUBECONFIG, else ~/.kube/config, else in-cluster
      --context NAME           a kubeconfig context other than the current one
      --agents HOW             how to read each node agent's /status: proxy (default: the
                               apiserver's node proxy, needs RBAC get on nodes/proxy), direct
                               (http://<node InternalIP>:<agent-port>/status from here) or none
      --agent-port PORT        the agents' --health-port (default 9964)
      --lease-namespace NS     the agents' --namespace, where the Leases are (default kube-system)
      --timeout DURATION       per request (default 5s)
      --load-balancer-classes LIST, --external-ips-must-be-in-pool BOOL
                               as the agents run with (defaults: io.cilium/l2-announcer, true)`;

export type OutputFormat = 'text' | 'json' | 'yaml';

export interface InspectSettings {
  readonly output: OutputFormat;
  readonly read: ReadOptions;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
}

type Values = { [K in keyof typeof INSPECT_OPTIONS]?: (typeof INSPECT_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function flag<T>(name: string, raw: string | undefined, fallback: T, f: (raw: string) => T): T {
  if (raw === undefined) return fallback;
  try {
    return f(raw);
  } catch (err) {
    throw new UsageError(`--${name}=${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function inspectSettings(values: Values): InspectSettings {
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json' && output !== 'yaml') throw new UsageError(`-o/--output must be text, json or yaml, not "${output}"`);
  const agents = values.agents ?? 'proxy';
  if (!AGENT_ACCESS.includes(agents as AgentAccess)) throw new UsageError(`--agents must be one of ${AGENT_ACCESS.join(', ')}, not "${agents}"`);
  return {
    output,
    kubeconfig: values.kubeconfig,
    context: values.context,
    read: {
      agents: agents as AgentAccess,
      agentPort: flag('agent-port', values['agent-port'], 9964, parse.port),
      leaseNamespace: flag('lease-namespace', values['lease-namespace'], 'kube-system', parse.string),
      timeoutMs: flag('timeout', values.timeout, 5000, parse.duration),
      loadBalancerClasses: flag('load-balancer-classes', values['load-balancer-classes'], ['io.cilium/l2-announcer'], parse.list),
      externalIPsMustBeInPool: flag('external-ips-must-be-in-pool', values['external-ips-must-be-in-pool'], true, parse.boolean),
    },
  };
}

/**
 * The kubeconfig as kubectl finds it. client-node falls back to
 * http://localhost:8080 when there is none at all; say so instead.
 */
export function kubeConfigFor(s: Pick<InspectSettings, 'kubeconfig' | 'context'>, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  if (s.kubeconfig === undefined && (env.KUBECONFIG ?? '') === '' && !existsSync(join(homedir(), '.kube', 'config')) && !inCluster) {
    throw new UsageError('no kubeconfig: set $KUBECONFIG, create ~/.kube/config or pass --kubeconfig FILE');
  }
  const kc = loadKubeConfig(s.kubeconfig);
  if (s.context !== undefined) {
    if (kc.getContextObject(s.context) === null) throw new UsageError(`the kubeconfig has no context "${s.context}"`);
    kc.setCurrentContext(s.context);
  }
  return kc;
}

/** The namespace of the kubeconfig's current context, else "default", as kubectl. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

/** JSON or YAML of a model (text is the caller's). */
export function machineOutput(format: 'json' | 'yaml', value: unknown): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}
