import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { crdDir, renderCrds } from '../../../tools/gen-crds.js';

test('the committed CRDs are what tools/gen-crds.ts renders', () => {
  for (const [file, text] of renderCrds()) {
    assert.equal(readFileSync(crdDir + file, 'utf8'), text, `${file} is stale: run node dist/tools/gen-crds.js`);
  }
});

test('both pool versions are served with one schema and v2 is stored', () => {
  const pool = parse(renderCrds().get('ciliumloadbalancerippools.yaml') ?? '') as {
    spec: { versions: { name: string; served: boolean; storage: boolean; schema: unknown }[] };
  };
  const [a, b] = pool.spec.versions;
  assert.ok(a && b, 'two versions');
  assert.equal(a.name, 'v2alpha1');
  assert.equal(b.name, 'v2');
  assert.deepEqual([a.served, b.served, a.storage, b.storage], [true, true, false, true]);
  assert.deepEqual(a.schema, b.schema);
});

test('Yes and No stay strings for YAML 1.1 readers such as kubectl', () => {
  const text = renderCrds().get('ciliumloadbalancerippools.yaml') ?? '';
  assert.match(text, /- "Yes"\n\s*- "No"/);
});
