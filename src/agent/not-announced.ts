/**
 * Addresses a Service asks for that herald will not announce (an external IP
 * outside every pool, an address that does not parse): the selection knows
 * why, and users must be able to see it. Each new one gets a log line and a
 * Warning Event on the Service, one for the cluster (every agent derives the
 * same Event name, so the first write lands), and all of them are listed in
 * the agent's /status.
 */
import { createHash } from 'node:crypto';
import type { L2Selection } from '../core/l2/selection.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { Logger } from '../log.js';

export interface NotAnnounced {
  readonly service: string;
  readonly address: string;
  readonly reason: string;
}

export class NotAnnouncedReport {
  #current: readonly NotAnnounced[] = [];
  #reported = new Set<string>();

  constructor(private readonly events: EventRecorder, private readonly log: Logger) {}

  /** The addresses the selection refuses now. */
  get current(): readonly NotAnnounced[] {
    return this.#current;
  }

  /** Reports what is new since the last selection; `uidOf` gives the Service's uid for the Event. */
  update(selection: L2Selection, uidOf: (service: string) => string | undefined): void {
    const now: NotAnnounced[] = [];
    for (const c of selection.services.values()) for (const r of c.rejected) now.push({ service: c.key, address: r.address, reason: r.reason });
    const keys = new Set<string>();
    for (const n of now) {
      const key = `${n.service}|${n.address}|${n.reason}`;
      keys.add(key);
      if (this.#reported.has(key)) continue;
      this.log.warn({ service: n.service, address: n.address, reason: n.reason }, 'address not announced');
      const [namespace = '', name = ''] = n.service.split('/');
      const uid = uidOf(n.service);
      const digest = createHash('sha256').update(`${uid ?? ''}\n${n.address}\n${n.reason}`).digest('hex').slice(0, 16);
      this.events.record({ apiVersion: 'v1', kind: 'Service', name, namespace, ...(uid === undefined ? {} : { uid }) }, {
        type: 'Warning', reason: 'AddressNotAnnounced', action: 'Announce', note: n.reason, name: `${name}.${digest}`,
      });
    }
    this.#reported = keys;
    this.#current = now;
  }
}
