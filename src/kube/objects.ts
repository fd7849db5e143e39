/**
 * The wire shapes herald reads from the API, as JSON (timestamps are
 * strings). client-node's model classes type timestamps as Date, which the
 * raw JSON of a watch is not, so the adapters use these instead.
 */
export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  managedFields?: { manager?: string; operation?: string; subresource?: string }[];
}

export interface WireCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ServiceObject {
  metadata: Meta;
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    externalIPs?: string[];
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    ports?: { port: number; protocol?: string; name?: string }[];
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] };
    conditions?: WireCondition[];
  };
}

export interface PoolObject {
  metadata: Meta;
  spec?: {
    blocks?: { cidr?: string; start?: string; stop?: string }[];
    serviceSelector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
    disabled?: boolean;
    allowFirstLastIPs?: string;
  };
  status?: { conditions?: WireCondition[] };
}
