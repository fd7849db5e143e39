/**
 * The chart's copies of the monitoring files (deploy/helm/herald/files/) are
 * deploy/monitoring's, byte for byte: the PrometheusRule and the dashboard
 * ConfigMap the chart renders are the files users import by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chartFiles, syncCommand } from '../../../tools/sync-chart-files.js';

for (const f of chartFiles) {
  test(`the chart's ${f.copy.replace(/.*\/deploy\//, 'deploy/')} is ${f.source.replace(/.*\/deploy\//, 'deploy/')}`, () => {
    assert.equal(readFileSync(f.copy, 'utf8'), readFileSync(f.source, 'utf8'), `the chart's copy is stale: run ${syncCommand}`);
  });
}
