/**
 * The chart's values cover every flag of `herald agent` and `herald operator`:
 * a new flag cannot be forgotten, and the schema types it as herald parses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { agentSettings } from '../../../src/cli/agent.js';
import { operatorSettings } from '../../../src/cli/operator.js';
import { LOG_LEVELS, type SettingDefs } from '../../../src/cli/settings.js';
import { repoRoot } from '../../../harness/paths.js';
import { chartOwnedFlags, renderValuesSchema, valuesSchema, valuesSchemaPath } from '../../../tools/gen-chart-schema.js';

interface FlagSchema { type?: string | string[]; enum?: unknown[]; default?: unknown; description?: string }
interface ConfigSchema { additionalProperties: boolean; properties: Record<string, FlagSchema> }

const commands = { agent: agentSettings, operator: operatorSettings } as const satisfies Record<string, SettingDefs>;

function configOf(command: keyof typeof commands): ConfigSchema {
  const schema = valuesSchema() as { properties: Record<string, { properties: { config: ConfigSchema } }> };
  const config = schema.properties[command]?.properties.config;
  assert.ok(config, `no ${command}.config in the schema`);
  return config;
}

/** A value as the chart's templates turn it into --flag=<this>. */
function asArg(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

test('the committed values.schema.json is what tools/gen-chart-schema.ts renders', () => {
  assert.equal(readFileSync(valuesSchemaPath, 'utf8'), renderValuesSchema(),
    'deploy/helm/herald/values.schema.json is stale: run node dist/tools/gen-chart-schema.js');
});

test('only the flags that must differ per pod or would break its credentials are the chart\'s own', () => {
  // node-name and identity: one value would be every agent's node / every
  // replica's identity; kubeconfig: pods use their ServiceAccount, which is
  // what the chart's RBAC grants. namespace and health-port stay settable:
  // the chart puts its Lease RBAC and its ports where they say.
  assert.deepEqual(Object.keys(chartOwnedFlags.agent).sort(), ['kubeconfig', 'node-name']);
  assert.deepEqual(Object.keys(chartOwnedFlags.operator).sort(), ['identity', 'kubeconfig']);
});

for (const [command, defs] of Object.entries(commands) as [keyof typeof commands, SettingDefs][]) {
  test(`every flag of herald ${command} is settable from ${command}.config, and nothing else is`, () => {
    const config = configOf(command);
    assert.equal(config.additionalProperties, false, 'a misspelt flag must be refused');
    const settable = Object.keys(defs).filter((flag) => !(flag in chartOwnedFlags[command]));
    assert.deepEqual(Object.keys(config.properties).sort(), settable.sort());
    for (const owned of Object.keys(chartOwnedFlags[command])) assert.ok(owned in defs, `${owned} is no longer a flag`);
  });

  test(`herald ${command} parses each schema default to its own default`, () => {
    for (const [flag, entry] of Object.entries(configOf(command).properties)) {
      const def = defs[flag];
      assert.ok(def, flag);
      assert.ok(entry.description, `${flag} has a description`);
      if (flag === 'namespace') continue; // the release namespace
      assert.ok('default' in entry, `${flag} shows its default`);
      assert.deepEqual(def.parse(asArg(entry.default)), def.default, flag);
    }
  });

  test(`herald ${command} accepts each schema type as the chart renders it`, () => {
    // What each type admits, strings as helm --set-string gives them.
    const samples: Record<string, unknown[]> = {
      string: ['example'], array: [['a'], ['a', 'b']],
      'boolean|string': [true, false, 'true', 'False', 'yes', 'NO', '1', '0'],
      'integer|string': [1, 2, '3', '40'],
      'string|integer': ['250ms', '2s', '1.5s', '1m', '40', 40],
    };
    for (const [flag, entry] of Object.entries(configOf(command).properties)) {
      const def = defs[flag];
      assert.ok(def, flag);
      const type = Array.isArray(entry.type) ? entry.type.join('|') : entry.type;
      const values = entry.enum ?? samples[type ?? ''];
      assert.ok(values, `${flag}: no samples for type ${String(type)}`);
      for (const value of values) {
        assert.doesNotThrow(() => def.parse(asArg(value)), `${flag}=${asArg(value)}`);
      }
    }
  });
}

test('the log levels the schema offers are the ones herald takes', () => {
  assert.deepEqual(configOf('agent').properties['log-level']?.enum, [...LOG_LEVELS]);
});

test('the defaults the templates assume are herald\'s', () => {
  const helpers = readFileSync(`${repoRoot}deploy/helm/herald/templates/_helpers.tpl`, 'utf8');
  const literal = (pattern: RegExp): number => Number(pattern.exec(helpers)?.[1]);
  assert.equal(literal(/"handover-timeout" \| default (\d+)/), agentSettings['handover-timeout'].default);
  assert.equal(literal(/agent\.config "health-port" \| default (\d+)/), agentSettings['health-port'].default);
  assert.equal(literal(/operator\.config "health-port" \| default (\d+)/), operatorSettings['health-port'].default);
});
