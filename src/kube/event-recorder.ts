/**
 * Writes events.k8s.io/v1 Events about objects, the way `kubectl describe`
 * and `kubectl events` show them. The same event for the same object is not
 * repeated within the dedupe window, so a reconcile loop cannot flood etcd,
 * and only a few are written at a time, so a burst of Events never crowds
 * out the status writes that matter.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { KubeTransport } from './transport.js';
import { WriteQueue } from './write-queue.js';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventNote {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly queue: WriteQueue;
  written = 0;

  constructor(
    private readonly transport: KubeTransport,
    private readonly controller: string,
    private readonly instance: string,
    private readonly log: Logger,
    /** Events are written in this namespace when the subject is cluster-scoped. */
    private readonly defaultNamespace = 'default',
    private readonly dedupeMs = 10 * 60_000,
  ) {
    this.queue = new WriteQueue(4, log, undefined, false);
  }

  /** Queues an Event; it is written in the background, never retried. */
  record(subject: EventSubject, event: EventNote): void {
    const key = `${subject.kind}/${subject.namespace ?? ''}/${subject.name}/${subject.uid ?? ''}|${event.reason}|${event.note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 50_000) this.prune(now);
    const namespace = subject.namespace ?? this.defaultNamespace;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${subject.name}.${randomBytes(8).toString('hex')}`, namespace },
      eventTime: new Date(now).toISOString().replace('Z', '000Z'),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: event.action,
      reason: event.reason,
      note: event.note.slice(0, 1024),
      type: event.type,
      regarding: subject,
    };
    this.queue.put(key, async () => {
      try {
        await this.transport.json(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, { method: 'POST', body, timeoutMs: 10_000 });
        this.written++;
      } catch (err) {
        // An Event is a courtesy; failing to write one must not fail anything else.
        this.recent.delete(key);
        this.log.warn({ err, reason: event.reason, subject: `${namespace}/${subject.name}` }, 'could not write an Event');
      }
    });
  }

  /** Resolves when every queued Event has been written or given up on. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private prune(now: number): void {
    for (const [k, t] of this.recent) if (now - t >= this.dedupeMs) this.recent.delete(k);
  }
}
