import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../harness/paths.js';
import { dashboardExprs, metricNames, registeredMetrics, ruleExprs } from '../../support/monitoring.js';

/** prom-client's default process and Node.js metrics: documented as a family, not one by one. */
const isDefault = (name: string) => /^herald_(agent|operator)_(process_|nodejs_)/.test(name);

describe('docs/metrics.md', () => {
  const doc = readFileSync(`${repoRoot}/docs/metrics.md`, 'utf8');
  // A table row that starts with a metric name in backticks.
  const documented = new Set([...doc.matchAll(/^\| `(herald_[a-z0-9_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => `${m[1]!} ${m[2]!}`));

  it('lists every metric the agent and the operator register, with its type, and nothing else', async () => {
    const registered = (await registeredMetrics()).filter((m) => !isDefault(m.name)).map((m) => `${m.name} ${m.type}`);
    assert.deepEqual([...new Set(registered)].sort(), [...documented].sort());
  });

  it('describes every alert the rules file defines', () => {
    const alerts = ruleExprs().map((r) => r.alert);
    assert.ok(alerts.length >= 6);
    for (const a of alerts) assert.match(doc, new RegExp(`\\| \`${a}\` \\|`), `${a} is not in the alert table`);
  });
});

describe('the dashboard and the alert rules', () => {
  it('use only metrics herald registers', async () => {
    const registered = new Set((await registeredMetrics()).map((m) => m.name));
    const used = [...dashboardExprs(), ...ruleExprs().map((r) => r.expr)].flatMap(metricNames);
    assert.ok(used.length > 20);
    assert.deepEqual([...new Set(used)].filter((n) => !registered.has(n)), []);
  });

  it('cover the issues operators ask about: pools, pending Services, unanswered addresses, failovers, wire conflicts, API errors', () => {
    const byAlert = new Map(ruleExprs().map((r) => [r.alert, metricNames(r.expr)]));
    assert.deepEqual(byAlert.get('HeraldPoolExhausted'), ['herald_ipam_pool_addresses']);
    assert.deepEqual(byAlert.get('HeraldServicesPending'), ['herald_ipam_services']);
    assert.deepEqual(byAlert.get('HeraldAddressUnanswered'), ['herald_agent_unheld_addresses']);
    assert.deepEqual(byAlert.get('HeraldFrequentFailovers'), ['herald_agent_ownership_changes_total']);
    assert.deepEqual(byAlert.get('HeraldWireConflict'), ['herald_agent_foreign_mac_claims_total']);
    assert.deepEqual(byAlert.get('HeraldApiErrors'), ['herald_agent_api_requests_total', 'herald_operator_api_requests_total']);
  });
});
