/**
 * The OpenAPI schemas of herald's CRDs, written once and rendered to
 * deploy/helm/herald/crds by tools/gen-crds.ts. They check exactly what
 * Cilium's schemas check (types, enums, `format: cidr`, label values), no
 * more: a manifest Cilium's CRD accepts must apply here too. Whatever else is
 * wrong in a spec is reported on the object's status by the operator (pools)
 * or the agents (policies); docs/ipam.md, "What the CRDs accept".
 */

type Schema = Record<string, unknown>;

const labelValue = {
  type: 'string',
  maxLength: 63,
  pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
};

/**
 * metav1.LabelSelector as Cilium's CRDs type it: only matchLabels values and
 * the operator are checked at apply time; keys, expression values and the
 * operator/values pairing are checked when the selector is compiled.
 */
export function labelSelectorSchema(description: string): Schema {
  return {
    type: 'object',
    description,
    properties: {
      matchLabels: { type: 'object', additionalProperties: labelValue },
      matchExpressions: {
        type: 'array',
        'x-kubernetes-list-type': 'atomic',
        items: {
          type: 'object',
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string' },
            operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
            values: { type: 'array', 'x-kubernetes-list-type': 'atomic', items: { type: 'string' } },
          },
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
      // metav1.Condition's checks, as in Cilium's CRDs: herald's writes must pass them whichever CRD is installed.
      type: {
        type: 'string',
        maxLength: 316,
        pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
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

export const ipPoolSchema: Schema = objectSchema(
  {
    type: 'object',
    description: 'Addresses that LB-IPAM may give to LoadBalancer Services.',
    properties: {
      blocks: {
        type: 'array',
        description: 'CIDRs or start/stop ranges, IPv4 or IPv6, mixed freely.',
        items: {
          type: 'object',
          properties: {
            cidr: {
              type: 'string',
              format: 'cidr',
              description: 'A CIDR such as 192.0.2.0/24 or 2001:db8::/64.',
            },
            start: {
              type: 'string',
              description: 'First address of the range; the only one when stop is empty.',
            },
            stop: {
              type: 'string',
              description: 'Last address of the range, inclusive.',
            },
          },
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
        items: { type: 'string' },
      },
      externalIPs: { type: 'boolean', description: 'Announce spec.externalIPs.' },
      loadBalancerIPs: { type: 'boolean', description: 'Announce status.loadBalancer.ingress[].ip.' },
    },
  },
  false,
);
