/** What a Service Lease write that landed tells people: a log line and an L2AnnouncerChanged Event on the Service. */
import type { LeaseWrite } from '../core/l2/agent-core.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { Logger } from '../log.js';

export function announcerChanged(w: LeaseWrite, addresses: readonly string[], uid: string | undefined, events: EventRecorder, log: Logger): void {
  const [namespace = '', name = ''] = w.service.split('/');
  log.info({ service: w.service, action: w.action, from: w.previousHolder, to: w.holder, reason: w.reason }, 'Service Lease written');
  const ips = [...new Set(addresses)];
  events.record({ apiVersion: 'v1', kind: 'Service', name, namespace, uid }, {
    type: 'Normal', reason: 'L2AnnouncerChanged', action: 'Announce',
    note: w.holder === '' ? `${w.previousHolder} stopped announcing; no node announces it now`
      : `${w.holder} announces ${ips.join(', ') || 'the Service'} (was ${w.previousHolder || 'nobody'}): ${w.reason}`,
  });
}
