/**
 * Renders the Helm chart's values.schema.json. The `config` maps of the agent
 * and the operator get one entry per flag of `herald agent` and `herald
 * operator`, typed by the flag's parser, so a new flag is settable from
 * values as soon as the schema is re-rendered (`node dist/tools/gen-chart-schema.js`);
 * a unit test fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentSettings } from '../src/cli/agent.js';
import { operatorSettings } from '../src/cli/operator.js';
import { LOG_LEVELS, parse, type SettingDefs } from '../src/cli/settings.js';

type Schema = Record<string, unknown>;

/**
 * Flags the chart sets itself and values cannot: each needs a different
 * value per pod or would break the pod's credentials.
 */
export const chartOwnedFlags: Readonly<Record<'agent' | 'operator', Readonly<Record<string, string>>>> = {
  agent: {
    'node-name': 'each agent reads its node from $NODE_NAME (spec.nodeName); one value for every pod would make all of them the same node',
    kubeconfig: 'the agent uses its ServiceAccount\'s in-cluster credentials, which is what the chart\'s RBAC grants',
  },
  operator: {
    identity: 'each replica is named by $POD_NAME in the leader-election Lease; one value for every replica would make them all leaders',
    kubeconfig: 'the operator uses its ServiceAccount\'s in-cluster credentials, which is what the chart\'s RBAC grants',
  },
};

/** What the chart adds to a flag's own description. */
const chartNotes: Readonly<Record<string, string>> = {
  namespace: 'Default: the release namespace; the chart grants the Lease rights in this namespace.',
  'health-port': 'Also the container port, the probes\' port and the metrics Service\'s port.',
  'health-address': 'The probes and Prometheus reach the pod on its IP: keep an address they can use.',
};

const durationPattern = '^[0-9]+(\\.[0-9]+)?(ms|s|m)?$';
// Numbers and booleans may also come as strings (helm --set-string), as herald reads them.
const positivePattern = '^[1-9][0-9]*$';
const booleanPattern = '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|1|0)$';

/** The schema of a flag's value, by the parser herald reads it with. */
function valueSchema(parser: (raw: string) => unknown, flag: string): Schema {
  switch (parser) {
    case parse.string: return { type: 'string', minLength: 1 };
    case parse.list: return { type: 'array', items: { type: 'string', minLength: 1, pattern: '^[^,]+$' } };
    case parse.duration: return { type: ['string', 'integer'], pattern: durationPattern, minimum: 1 };
    case parse.durationOrZero: return { type: ['string', 'integer'], pattern: durationPattern, minimum: 0 };
    // 0 (any free port) suits tests, not a pod whose probes need the port.
    case parse.port: return { type: ['integer', 'string'], pattern: positivePattern, minimum: 1, maximum: 65535 };
    case parse.positiveInt: return { type: ['integer', 'string'], pattern: positivePattern, minimum: 1 };
    case parse.boolean: return { type: ['boolean', 'string'], pattern: booleanPattern };
    case parse.logLevel: return { type: 'string', enum: [...LOG_LEVELS] };
    default: throw new Error(`--${flag}: no schema for its parser; add one to tools/gen-chart-schema.ts`);
  }
}

/** A duration in ms as users write it: 50ms, 3s, 5m. */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The value of a flag's default as values.yaml would hold it. */
function defaultValue(parser: (raw: string) => unknown, value: unknown): unknown {
  return (parser === parse.duration || parser === parse.durationOrZero) && typeof value === 'number' ? (value === 0 ? '0s' : formatDuration(value)) : value;
}

function configSchema(command: 'agent' | 'operator', defs: SettingDefs): Schema {
  const owned = chartOwnedFlags[command];
  const properties: Record<string, Schema> = {};
  for (const [flag, def] of Object.entries(defs)) {
    if (flag in owned) continue;
    const note = chartNotes[flag];
    properties[flag] = {
      description: note ? `${def.description}. ${note}` : def.description,
      ...valueSchema(def.parse, flag),
      ...(flag === 'namespace' ? {} : { default: defaultValue(def.parse, def.default) }),
    };
  }
  return {
    type: 'object',
    description: `Flags of \`herald ${command}\`, by name: each becomes --name=value (lists joined with commas).`,
    additionalProperties: false,
    properties,
  };
}

const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const object: Schema = { type: 'object' };
const intOrString: Schema = { type: ['integer', 'string'] };

function component(command: 'agent' | 'operator', defs: SettingDefs, extra: Record<string, Schema>): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', description: `Install herald ${command}.` },
      config: configSchema(command, defs),
      extraArgs: { type: 'array', items: { type: 'string' }, description: 'More container arguments, after the flags from config.' },
      extraEnv: { type: 'array', items: { type: 'object', required: ['name'] }, description: 'More environment variables (EnvVar objects).' },
      resources: object,
      tolerations: { type: 'array', items: object },
      nodeSelector: stringMap,
      affinity: object,
      priorityClassName: { type: 'string' },
      terminationGracePeriodSeconds: { type: 'integer', minimum: 1 },
      podAnnotations: stringMap,
      podLabels: stringMap,
      serviceAccount: { type: 'object', additionalProperties: false, properties: { annotations: stringMap } },
      podSecurityContext: object,
      securityContext: object,
      livenessProbe: object,
      readinessProbe: object,
      metricsService: {
        type: 'object', additionalProperties: false,
        properties: { enabled: { type: 'boolean' }, annotations: stringMap },
      },
      ...extra,
    },
  };
}

const promDuration: Schema = { type: 'string', pattern: '^(([0-9]+(ms|s|m|h|d|w|y))+)?$' };

const monitor: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    labels: stringMap,
    interval: promDuration,
    scrapeTimeout: promDuration,
    relabelings: { type: 'array', items: object },
    metricRelabelings: { type: 'array', items: object },
  },
};

export function valuesSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment: 'Generated by tools/gen-chart-schema.ts from the flags of herald agent and herald operator. Do not edit.',
    title: 'herald chart values',
    type: 'object',
    additionalProperties: false,
    properties: {
      // Helm passes a parent chart's globals to a subchart.
      global: object,
      image: {
        type: 'object',
        additionalProperties: false,
        properties: {
          repository: { type: 'string', minLength: 1 },
          tag: { type: 'string', description: 'Empty: the chart\'s appVersion.' },
          digest: { type: 'string', pattern: '^(sha256:[0-9a-f]{64})?$', description: 'Pins the image; wins over the tag.' },
          pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
        },
      },
      imagePullSecrets: { type: 'array', items: { type: 'object', required: ['name'] } },
      agent: component('agent', agentSettings, {
        updateStrategy: {
          type: 'object',
          properties: {
            type: { enum: ['RollingUpdate', 'OnDelete'] },
            rollingUpdate: { type: 'object', properties: { maxUnavailable: intOrString, maxSurge: intOrString } },
          },
        },
        minReadySeconds: { type: 'integer', minimum: 0 },
        admissionPolicy: {
          type: 'object',
          additionalProperties: false,
          description: 'ValidatingAdmissionPolicies that hold each agent to its own node\'s Leases (docs/security.md); needs Kubernetes 1.30.',
          properties: { enabled: { type: 'boolean' } },
        },
      }),
      operator: component('operator', operatorSettings, {
        replicas: { type: 'integer', minimum: 1 },
        strategy: object,
        podDisruptionBudget: {
          type: 'object',
          additionalProperties: false,
          description: 'minAvailable, when set, replaces maxUnavailable.',
          properties: { enabled: { type: 'boolean' }, maxUnavailable: intOrString, minAvailable: intOrString },
        },
      }),
      monitoring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          serviceMonitor: monitor,
          podMonitor: monitor,
          prometheusRule: {
            type: 'object',
            additionalProperties: false,
            description: 'A PrometheusRule with the groups of deploy/monitoring/prometheus-rules.yaml.',
            properties: { enabled: { type: 'boolean' }, labels: stringMap },
          },
          grafanaDashboard: {
            type: 'object',
            additionalProperties: false,
            description: 'A ConfigMap with deploy/monitoring/grafana-dashboard.json for Grafana\'s dashboard sidecar.',
            properties: {
              enabled: { type: 'boolean' },
              namespace: { type: 'string', description: 'Empty: the release namespace.' },
              labels: stringMap,
              annotations: stringMap,
            },
          },
        },
      },
      inspect: {
        type: 'object',
        additionalProperties: false,
        properties: {
          rbac: {
            type: 'object',
            additionalProperties: false,
            description: 'ClusterRoles for herald explain and herald status, as in examples/rbac/herald-inspect.yaml (unbound).',
            properties: {
              enabled: { type: 'boolean' },
              agentsProxy: { type: 'boolean', description: 'Also herald-inspect-agents (nodes/proxy get), which reaches every kubelet\'s API: bind it to admins only.' },
            },
          },
        },
      },
    },
  };
}

export function renderValuesSchema(): string {
  return `${JSON.stringify(valuesSchema(), null, 2)}\n`;
}

export const valuesSchemaPath = fileURLToPath(new URL('../../deploy/helm/herald/values.schema.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(valuesSchemaPath, renderValuesSchema());
  console.log(`wrote ${valuesSchemaPath}`);
}
