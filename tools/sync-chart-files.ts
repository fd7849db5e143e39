/**
 * Copies deploy/monitoring's Prometheus rules and Grafana dashboard into the
 * chart (deploy/helm/herald/files/), where its templates read them with
 * .Files.Get: helm can only read files inside the chart, and .Files.Get does
 * not template them, so the rules' {{ $labels.x }} reach Prometheus as written.
 * deploy/monitoring stays the file to edit: `node dist/tools/sync-chart-files.js`
 * copies it, and a unit test fails when the copies differ.
 */
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Each file under deploy/monitoring that the chart carries a copy of, with the copy's path. */
export const chartFiles: readonly { source: string; copy: string }[] = ['prometheus-rules.yaml', 'grafana-dashboard.json'].map((name) => ({
  source: `${root}deploy/monitoring/${name}`,
  copy: `${root}deploy/helm/herald/files/${name}`,
}));

export const syncCommand = 'node dist/tools/sync-chart-files.js';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const f of chartFiles) copyFileSync(f.source, f.copy);
  console.log(`copied ${chartFiles.map((f) => f.source).join(', ')} into the chart's files/`);
}
