/**
 * herald's monitoring files as data: the metric names the Grafana dashboard
 * and the Prometheus rules use, and every metric the code registers.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { LivenessLinks } from '../../src/l2/liveness-links.js';
import { Responder } from '../../src/l2/responder.js';
import { OperatorMetrics } from '../../src/operator/metrics.js';
import { repoRoot } from '../../harness/paths.js';
import { FakeLinks } from './fakes.js';

export const DASHBOARD = `${repoRoot}/deploy/monitoring/grafana-dashboard.json`;
export const RULES = `${repoRoot}/deploy/monitoring/prometheus-rules.yaml`;

interface Dashboard { panels: { title: string; targets: { expr: string }[] }[] }
interface Rules { groups: { name: string; rules: { alert?: string; expr: string }[] }[] }

/** Every PromQL expression of the dashboard, with Grafana's $__rate_interval made a plain range. */
export function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  return d.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$__rate_interval', '5m')));
}

export function ruleExprs(): { alert: string; expr: string }[] {
  const r = parse(readFileSync(RULES, 'utf8')) as Rules;
  return r.groups.flatMap((g) => g.rules.map((x) => ({ alert: x.alert ?? '', expr: x.expr })));
}

/** herald_* names in an expression, histogram suffixes taken back to the metric's own name. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\bherald_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];
}

export interface RegisteredMetric { readonly process: 'agent' | 'operator'; readonly name: string; readonly type: string }

/** What the agent and the operator register, built as they build it (no API, no sockets). */
export async function registeredMetrics(): Promise<RegisteredMetric[]> {
  const agent = new AgentMetrics();
  const links = new FakeLinks([]);
  const responder = new Responder({ links, registry: agent.registry });
  const liveness = new LivenessLinks({ links, nodeName: 'node-a', registry: agent.registry });
  const operator = new OperatorMetrics();
  const out: RegisteredMetric[] = [];
  for (const [process, reg] of [['agent', agent.registry], ['operator', operator.registry]] as const) {
    for (const m of await reg.getMetricsAsJSON()) out.push({ process, name: m.name, type: String(m.type) });
  }
  responder.close();
  liveness.close();
  return out;
}
