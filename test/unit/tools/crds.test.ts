import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { POOL_V2ALPHA1_WARNING, crdDir, renderCrds } from '../../../tools/gen-crds.js';

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

test('pool v2alpha1 is deprecated with the warning users of Cilium see; v2 and the policy version are not', () => {
  type Version = { name: string; deprecated?: boolean; deprecationWarning?: string };
  const versions = (file: string): Version[] => (parse(renderCrds().get(file) ?? '') as { spec: { versions: Version[] } }).spec.versions;
  const [alpha, v2] = versions('ciliumloadbalancerippools.yaml');
  assert.ok(alpha && v2, 'two versions');
  assert.equal(alpha.deprecated, true);
  assert.equal(alpha.deprecationWarning, POOL_V2ALPHA1_WARNING);
  // The apiserver's default for a deprecated version without a text of its own, as Cilium's CRD has it.
  assert.equal(POOL_V2ALPHA1_WARNING, 'cilium.io/v2alpha1 CiliumLoadBalancerIPPool is deprecated; use cilium.io/v2 CiliumLoadBalancerIPPool');
  assert.equal(v2.deprecated, undefined);
  assert.deepEqual(versions('ciliuml2announcementpolicies.yaml').map((v) => v.deprecated), [undefined]);
});

test('no CRD carries Cilium\'s schema-version label (docs/install.md, "If Cilium\'s operator is still running")', () => {
  for (const [file, text] of renderCrds()) {
    const labels = (parse(text) as { metadata: { labels: Record<string, string> } }).metadata.labels;
    assert.equal(labels['io.cilium.k8s.crd.schema.version'], undefined, file);
    assert.equal(labels['app.kubernetes.io/part-of'], 'herald', file);
  }
});

test('Yes and No stay strings for YAML 1.1 readers such as kubectl', () => {
  const text = renderCrds().get('ciliumloadbalancerippools.yaml') ?? '';
  assert.match(text, /- "Yes"\n\s*- "No"/);
});

/**
 * What Cilium's CRDs check, path by path (cilium/cilium,
 * pkg/k8s/apis/cilium.io/client/crds/v2/ciliumloadbalancerippools.yaml, whose
 * v2alpha1 and v2 schemas are the same, and
 * .../v2alpha1/ciliuml2announcementpolicies.yaml). `[]` is an array's items,
 * `{}` a map's values. herald may check less, never more.
 */
type Checks = Record<string, unknown>;
const labelValueChecks: Checks = { type: 'string', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' };
function selectorChecks(at: string): Record<string, Checks> {
  return {
    [at]: { type: 'object' },
    [`${at}.matchLabels`]: { type: 'object' },
    [`${at}.matchLabels{}`]: labelValueChecks,
    [`${at}.matchExpressions`]: { type: 'array' },
    [`${at}.matchExpressions[]`]: { type: 'object', required: ['key', 'operator'] },
    [`${at}.matchExpressions[].key`]: { type: 'string' },
    [`${at}.matchExpressions[].operator`]: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
    [`${at}.matchExpressions[].values`]: { type: 'array' },
    [`${at}.matchExpressions[].values[]`]: { type: 'string' },
  };
}
const statusChecks: Record<string, Checks> = {
  status: { type: 'object' },
  'status.conditions': { type: 'array' },
  'status.conditions[]': { type: 'object', required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'] },
  'status.conditions[].lastTransitionTime': { type: 'string', format: 'date-time' },
  'status.conditions[].message': { type: 'string', maxLength: 32768 },
  'status.conditions[].observedGeneration': { type: 'integer', format: 'int64', minimum: 0 },
  'status.conditions[].reason': { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
  'status.conditions[].status': { type: 'string', enum: ['True', 'False', 'Unknown'] },
  'status.conditions[].type': { type: 'string', maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' },
};
const ciliumPool: Record<string, Checks> = {
  '': { type: 'object', required: ['metadata', 'spec'] },
  apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
  spec: { type: 'object' },
  'spec.allowFirstLastIPs': { type: 'string', enum: ['Yes', 'No'] },
  'spec.blocks': { type: 'array' },
  'spec.blocks[]': { type: 'object' },
  'spec.blocks[].cidr': { type: 'string', format: 'cidr' },
  'spec.blocks[].start': { type: 'string' },
  'spec.blocks[].stop': { type: 'string' },
  'spec.disabled': { type: 'boolean' },
  ...selectorChecks('spec.serviceSelector'),
  ...statusChecks,
};
const ciliumPolicy: Record<string, Checks> = {
  '': { type: 'object', required: ['metadata'] },
  apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
  spec: { type: 'object' },
  'spec.externalIPs': { type: 'boolean' },
  'spec.loadBalancerIPs': { type: 'boolean' },
  'spec.interfaces': { type: 'array' },
  'spec.interfaces[]': { type: 'string' },
  ...selectorChecks('spec.nodeSelector'),
  ...selectorChecks('spec.serviceSelector'),
  ...statusChecks,
};

const checkKeywords = ['type', 'required', 'enum', 'pattern', 'format', 'maxLength', 'minLength', 'maxItems', 'minItems',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'uniqueItems', 'maxProperties', 'minProperties',
  'x-kubernetes-validations'];

/** Every check in a rendered schema, by path. */
function checksOf(schema: Record<string, unknown>, path = '', out = new Map<string, Checks>()): Map<string, Checks> {
  const here: Checks = {};
  for (const k of checkKeywords) if (schema[k] !== undefined) here[k] = schema[k];
  out.set(path, here);
  const join = (p: string, k: string): string => (p === '' ? k : `${p}.${k}`);
  for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) checksOf(v, join(path, k), out);
  if (schema.items !== undefined) checksOf(schema.items as Record<string, unknown>, `${path}[]`, out);
  if (typeof schema.additionalProperties === 'object') checksOf(schema.additionalProperties as Record<string, unknown>, `${path}{}`, out);
  return out;
}

/** Why herald's check at a path rejects something Cilium's accepts, or undefined. */
function stricter(keyword: string, herald: unknown, cilium: unknown): string | undefined {
  if (cilium === undefined) return 'Cilium has no such check';
  const subset = (a: unknown, b: unknown): boolean => (a as unknown[]).every((x) => (b as unknown[]).includes(x));
  switch (keyword) {
    case 'required': return subset(herald, cilium) ? undefined : `requires more (${JSON.stringify(cilium)})`;
    case 'enum': return subset(cilium, herald) ? undefined : `allows fewer values (${JSON.stringify(cilium)})`;
    case 'maxLength': case 'maxItems': case 'maximum': return (herald as number) >= (cilium as number) ? undefined : `lower (${JSON.stringify(cilium)})`;
    case 'minLength': case 'minItems': case 'minimum': return (herald as number) <= (cilium as number) ? undefined : `higher (${JSON.stringify(cilium)})`;
    default: return JSON.stringify(herald) === JSON.stringify(cilium) ? undefined : `differs (${JSON.stringify(cilium)})`;
  }
}

for (const [file, cilium] of [['ciliumloadbalancerippools.yaml', ciliumPool], ['ciliuml2announcementpolicies.yaml', ciliumPolicy]] as const) {
  const versions = (parse(renderCrds().get(file) ?? '') as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  }).spec.versions;

  for (const v of versions) {
    test(`${file} ${v.name}: every check herald makes, Cilium's CRD makes too`, () => {
      const wrong: string[] = [];
      for (const [path, checks] of checksOf(v.schema.openAPIV3Schema)) {
        for (const [keyword, value] of Object.entries(checks)) {
          const why = stricter(keyword, value, cilium[path]?.[keyword]);
          if (why !== undefined) wrong.push(`${path || '(root)'} ${keyword} ${JSON.stringify(value)}: ${why}`);
        }
      }
      assert.deepEqual(wrong, []);
    });

    test(`${file} ${v.name}: every field Cilium types, herald types the same`, () => {
      const herald = checksOf(v.schema.openAPIV3Schema);
      for (const [path, checks] of Object.entries(cilium)) {
        assert.equal(herald.get(path)?.type, checks.type, path || '(root)');
      }
    });
  }
}
