import type { ServiceRequest } from './service-request.js';

function crossNamespaceAllows(from: ServiceRequest, otherNamespace: string): boolean {
  return from.crossNamespace.has('*') || from.crossNamespace.has(otherNamespace);
}

/**
 * Why two Services may not share an address, or undefined when they may.
 * Symmetric; the message names `b` so it reads well on `a`'s condition.
 */
export function sharingIncompatibility(a: ServiceRequest, b: ServiceRequest): string | undefined {
  const bName = `${b.spec.namespace}/${b.spec.name}`;
  if (a.sharingKey === undefined || b.sharingKey === undefined) return `${bName} has no sharing key`;
  if (a.sharingKey !== b.sharingKey) return `${bName} has sharing key "${b.sharingKey}", not "${a.sharingKey}"`;
  if (a.spec.namespace !== b.spec.namespace) {
    if (!crossNamespaceAllows(a, b.spec.namespace) || !crossNamespaceAllows(b, a.spec.namespace)) {
      return `${bName} is in another namespace and the sharing-cross-namespace annotations of both Services do not allow it`;
    }
  }
  for (const port of a.ports) {
    if (b.ports.has(port)) return `${bName} also uses port ${port}`;
  }
  if (a.externalTrafficPolicy !== b.externalTrafficPolicy) {
    return `${bName} has externalTrafficPolicy ${b.externalTrafficPolicy}, not ${a.externalTrafficPolicy}`;
  }
  if (a.externalTrafficPolicy === 'Local') {
    if (a.podSelector === '' || b.podSelector === '') return `externalTrafficPolicy Local needs a non-empty pod selector on both ${a.key} and ${bName}`;
    if (a.podSelector !== b.podSelector) return `${bName} has externalTrafficPolicy Local with a different pod selector`;
  }
  return undefined;
}
