/**
 * Writes events.k8s.io/v1 Events about objects, the way `kubectl describe`
 * and `kubectl events` show them. The same event for the same object is not
 * repeated within the dedupe window, so a reconcile loop cannot flood etcd,
 * and only a few are written at a time, so a burst of Events never crowds
 * out the status writes that matter.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { KubeApiError, type KubeTransport } from './transport.js';
import { WriteQueue } from './write-queue.js';

/** The same Event for the same object is written at most once per window, as client-go's 10-minute Event aggregation. */
const EVENT_DEDUPE_MS = 10 * 60_000;
/** Past this many remembered Events, expired ones are pruned, so the dedupe map cannot grow without bound. */
const EVENT_DEDUPE_MAX_KEYS = 50_000;
/** Few Events in flight at once, so a burst of them never crowds out the status writes that matter. */
const EVENT_WRITE_CONCURRENCY = 4;
/** An Event is a courtesy that is never retried: a hung POST gives up its slot after this long. */
const EVENT_WRITE_TIMEOUT_MS = 10_000;
/** The apiserver rejects an Event whose note is longer than this (validation's NoteLengthLimit, counted in bytes). */
const EVENT_NOTE_MAX_LENGTH = 1024;

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
  /**
   * A name every reporter derives alike, for what several processes see at
   * once (every agent checks every policy): the first write lands, the others
   * find it there (409), so the cluster gets one Event, not one per node.
   */
  name?: string;
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
    private readonly dedupeMs = EVENT_DEDUPE_MS,
  ) {
    this.queue = new WriteQueue(EVENT_WRITE_CONCURRENCY, log, undefined, false);
  }

  /** Queues an Event; it is written in the background, never retried. */
  record(subject: EventSubject, event: EventNote): void {
    const key = `${subject.kind}/${subject.namespace ?? ''}/${subject.name}/${subject.uid ?? ''}|${event.reason}|${event.note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeMs) return;
    this.recent.set(key, now);
    if (this.recent.size > EVENT_DEDUPE_MAX_KEYS) this.prune(now);
    const namespace = subject.namespace ?? this.defaultNamespace;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: event.name ?? `${subject.name}.${randomBytes(8).toString('hex')}`, namespace },
      eventTime: new Date(now).toISOString().replace('Z', '000Z'),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: event.action,
      reason: event.reason,
      note: event.note.slice(0, EVENT_NOTE_MAX_LENGTH),
      type: event.type,
      regarding: subject,
    };
    this.queue.put(key, async () => {
      try {
        await this.transport.json(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, { method: 'POST', body, timeoutMs: EVENT_WRITE_TIMEOUT_MS });
        this.written++;
      } catch (err) {
        // Another reporter wrote the same Event first.
        if (event.name !== undefined && err instanceof KubeApiError && err.status === 409) return;
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
