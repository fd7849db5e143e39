/**
 * Server-side apply of a status subresource. herald writes only the fields it
 * owns (ingress, its own conditions) under one field manager, so other
 * controllers' conditions are left alone, and applying an object without a
 * field removes that field if herald was its only owner.
 */
import type { KubeTransport } from './transport.js';

/** A status apply is not urgent (the write queue retries it), so it gets longer than a Lease request before it is abandoned. */
const STATUS_APPLY_TIMEOUT_MS = 15_000;

export interface ApplyTarget {
  /** e.g. /api/v1/namespaces/default/services/app1-service */
  path: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export async function applyStatus<T>(
  transport: KubeTransport,
  target: ApplyTarget,
  status: object,
  fieldManager: string,
  timeoutMs = STATUS_APPLY_TIMEOUT_MS,
): Promise<T> {
  const body = {
    apiVersion: target.apiVersion,
    kind: target.kind,
    metadata: { name: target.name, ...(target.namespace ? { namespace: target.namespace } : {}) },
    status,
  };
  const q = new URLSearchParams({ fieldManager, force: 'true' });
  return transport.json<T>(`${target.path}/status?${q.toString()}`, {
    method: 'PATCH', body, contentType: 'application/apply-patch+yaml', timeoutMs,
  });
}
