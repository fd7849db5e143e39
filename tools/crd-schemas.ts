/**
 * The OpenAPI schemas of herald's CRDs, written once and rendered to
 * deploy/helm/herald/crds by tools/gen-crds.ts. They mirror Cilium's
 * schemas so the same manifests apply on both, plus CEL rules that turn
 * typing mistakes into rejections at `kubectl apply`.
 */

type Schema = Record<string, unknown>;

const labelValue = {
  type: 'string',
  maxLength: 63,
  pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
};

/** metav1.LabelSelector, with the operator checks Kubernetes does in Go done in CEL. */
export function labelSelectorSchema(description: string): Schema {
  return {
    type: 'object',
    description,
    properties: {
      matchLabels: { type: 'object', additionalProperties: labelValue },
      matchExpressions: {
        type: 'array',
        items: {
          type: 'object',
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 317 },
            operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
            values: { type: 'array', items: labelValue },
          },
          'x-kubernetes-validations': [
            {
              rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
              message: 'operators In and NotIn need at least one value',
            },
            {
              rule: "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
              message: 'operators Exists and DoesNotExist take no values',
            },
          ],
        },
      },
    },
    'x-kubernetes-map-type': 'atomic',
  };
}

const conditions: Schema = {
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: { type: 'string', maxLength: 316 },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: { type: 'string', maxLength: 1024 },
      message: { type: 'string', maxLength: 32768 },
    },
  },
};

const statusSchema: Schema = { type: 'object', properties: { conditions } };

function objectSchema(spec: Schema, specRequired: boolean): Schema {
  return {
    type: 'object',
    ...(specRequired ? { required: ['spec'] } : {}),
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      status: statusSchema,
    },
  };
}

const ipRule = (example: string): Schema => ({
  rule: 'isIP(self)',
  message: `must be an IPv4 or IPv6 address such as ${example}`,
});

export const ipPoolSchema: Schema = objectSchema(
  {
    type: 'object',
    description: 'Addresses that LB-IPAM may give to LoadBalancer Services.',
    properties: {
      blocks: {
        type: 'array',
        description: 'CIDRs or start/stop ranges, IPv4 or IPv6, mixed freely.',
        maxItems: 1024,
        items: {
          type: 'object',
          properties: {
            cidr: {
              type: 'string',
              maxLength: 43,
              description: 'A CIDR such as 192.0.2.0/24 or 2001:db8::/64.',
              'x-kubernetes-validations': [
                { rule: 'isCIDR(self)', message: 'must be a CIDR such as 192.0.2.0/24 or 2001:db8::/64' },
              ],
            },
            start: {
              type: 'string',
              maxLength: 39,
              description: 'First address of the range; the only one when stop is empty.',
              'x-kubernetes-validations': [ipRule('192.0.2.10')],
            },
            stop: {
              type: 'string',
              maxLength: 39,
              description: 'Last address of the range, inclusive.',
              'x-kubernetes-validations': [ipRule('192.0.2.20')],
            },
          },
          'x-kubernetes-validations': [
            { rule: 'has(self.cidr) || has(self.start)', message: 'a block needs either cidr or start (with an optional stop)' },
            { rule: '!(has(self.cidr) && (has(self.start) || has(self.stop)))', message: 'a block has either cidr or start/stop, not both' },
            { rule: '!has(self.stop) || has(self.start)', message: 'stop needs a start' },
            {
              rule: '!has(self.start) || !has(self.stop) || !isIP(self.start) || !isIP(self.stop) || ip(self.start).family() == ip(self.stop).family()',
              message: 'start and stop must be of the same IP family',
            },
          ],
        },
      },
      serviceSelector: labelSelectorSchema('Services that may get addresses from this pool; empty selects all.'),
      disabled: {
        type: 'boolean',
        default: false,
        description: 'Stops new allocations from this pool; existing ones are kept.',
      },
      allowFirstLastIPs: {
        type: 'string',
        enum: ['Yes', 'No'],
        description: '"No" reserves the network and broadcast addresses of cidr blocks.',
      },
    },
  },
  true,
);

export const l2PolicySchema: Schema = objectSchema(
  {
    type: 'object',
    description: 'Which nodes answer ARP/NDP for which Services, on which interfaces.',
    properties: {
      nodeSelector: labelSelectorSchema('Nodes that may announce; empty selects all.'),
      serviceSelector: labelSelectorSchema('Services to announce; empty selects all.'),
      interfaces: {
        type: 'array',
        description: 'Regular expressions (OR-ed, unanchored) for the links to answer on; empty means every suitable link.',
        items: { type: 'string', minLength: 1, maxLength: 256 },
      },
      externalIPs: { type: 'boolean', description: 'Announce spec.externalIPs.' },
      loadBalancerIPs: { type: 'boolean', description: 'Announce status.loadBalancer.ingress[].ip.' },
    },
  },
  false,
);
