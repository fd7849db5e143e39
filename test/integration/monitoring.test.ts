/**
 * The alert rules and the dashboard's queries, read by Prometheus' own
 * parsers (hack/promql-check, built from the prometheus module): what
 * Prometheus would refuse to load fails here. That every metric they use is
 * exported is checked against running processes in agent-wire.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { promqlCheckBinary } from '../../harness/control-plane.js';
import { RULES, dashboardExprs } from '../support/monitoring.js';

const run = promisify(execFile);

async function check(args: string[], input?: string): Promise<{ code: number; problems: string[] }> {
  const child = run(promqlCheckBinary(), args, { timeout: 30_000 });
  if (input !== undefined) child.child.stdin?.end(input);
  try {
    const { stdout } = await child;
    return { code: 0, problems: JSON.parse(stdout) as string[] };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, problems: JSON.parse(e.stdout ?? '["no output"]') as string[] };
  }
}

describe('monitoring files, as Prometheus reads them', () => {
  it('loads the alert rules (rulefmt: fields, PromQL and annotation templates)', async () => {
    assert.deepEqual(await check(['rules', RULES]), { code: 0, problems: [] });
  });

  it('parses every query of the Grafana dashboard', async () => {
    const exprs = dashboardExprs();
    assert.ok(exprs.length > 15);
    assert.deepEqual(await check(['exprs'], JSON.stringify(exprs)), { code: 0, problems: [] });
  });

  it('would refuse a broken rule, so the checks above can fail', async () => {
    const r = await check(['exprs'], JSON.stringify(['sum(rate(herald_l2_replies_sent_total[5m])']));
    assert.equal(r.code, 1);
    assert.match(r.problems[0] ?? '', /unclosed left parenthesis|unexpected end of input/);
  });
});
