/**
 * The ping opt-in: a Service annotated `herald.io/answer-ping: "true"` has its
 * addresses answer ICMP and ICMPv6 echo requests, from the holder's packet
 * socket and nothing else (no host port becomes reachable). herald's own
 * annotation, so Cilium's API is untouched. Any value but "true" or "false"
 * is refused where the user sees it: a log line and one Warning Event on the
 * Service for the cluster; the Service is then announced without ping.
 */
import { createHash } from 'node:crypto';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { ServiceObject } from '../kube/objects.js';
import type { Logger } from '../log.js';

export const ANSWER_PING = 'herald.io/answer-ping';

/** The annotation's meaning: absent or "false" is off, "true" on; anything else says what is wrong. */
export function answerPing(svc: ServiceObject): Result<boolean> {
  const v = svc.metadata.annotations?.[ANSWER_PING];
  if (v === undefined || v === 'false') return ok(false);
  if (v === 'true') return ok(true);
  return fail(`annotation ${ANSWER_PING} must be "true" or "false", not ${JSON.stringify(v)}: the Service's addresses do not answer ping`);
}

/** Reads the opt-in for each announced Service and reports a bad value once per value. */
export class PingOptIn {
  #reported = new Set<string>();

  constructor(private readonly events: EventRecorder, private readonly log: Logger) {}

  /** Whether `key`'s addresses answer ping; `services` are the ones this node announces now. */
  echo(key: string, svc: ServiceObject | undefined): boolean {
    if (svc === undefined) return false;
    const r = answerPing(svc);
    if (r.ok) return r.value;
    const reportKey = `${key}|${svc.metadata.uid ?? ''}|${r.error}`;
    if (!this.#reported.has(reportKey)) {
      this.#reported.add(reportKey);
      this.log.warn({ service: key, annotation: ANSWER_PING }, r.error);
      const [namespace = '', name = ''] = key.split('/');
      const uid = svc.metadata.uid;
      const digest = createHash('sha256').update(reportKey).digest('hex').slice(0, 16);
      this.events.record({ apiVersion: 'v1', kind: 'Service', name, namespace, ...(uid === undefined ? {} : { uid }) }, {
        type: 'Warning', reason: 'InvalidAnnotation', action: 'Announce', note: r.error, name: `${name}.${digest}`,
      });
    }
    return false;
  }
}
