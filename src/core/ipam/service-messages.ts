import type { IpamEvent, ServiceDecision, ServiceKey } from './types.js';

/**
 * What users read about Services: the decisions last reported (so a
 * reconcile reports only changes), the notes that explain a decision (why a
 * Service did not share, which family it lacks), and the Events of a reconcile.
 */
export class ServiceMessages {
  /** Kept while the address they explain is held, so later reconciles do not flap the message. */
  readonly #notes = new Map<ServiceKey, string[]>();
  readonly #decisions = new Map<ServiceKey, ServiceDecision>();
  readonly #text = new Map<ServiceKey, string>();
  #events: IpamEvent[] = [];

  note(service: ServiceKey, text: string): void {
    const notes = this.#notes.get(service) ?? [];
    if (!notes.includes(text)) notes.push(text);
    this.#notes.set(service, notes);
  }

  notes(service: ServiceKey): readonly string[] {
    return this.#notes.get(service) ?? [];
  }

  /** A new attempt: a new explanation. */
  clearNotes(service: ServiceKey): void {
    this.#notes.delete(service);
  }

  event(object: { readonly namespace: string; readonly name: string }, type: IpamEvent['type'], reason: string, message: string): void {
    this.#events.push({ object: { kind: 'Service', namespace: object.namespace, name: object.name }, type, reason, message });
  }

  /** The Events since the last call. */
  takeEvents(): IpamEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /**
   * Records a decision; true when it differs from the last one. A False
   * condition that appears or changes its message gets one IPAllocationFailed
   * Event, so an unsatisfiable Service does not produce one per reconcile.
   */
  record(decision: ServiceDecision): boolean {
    const text = JSON.stringify(decision);
    if (this.#text.get(decision.key) === text) return false;
    const before = this.#decisions.get(decision.key)?.condition;
    const now = decision.condition;
    if (now?.status === 'False' && (before?.status !== 'False' || before.message !== now.message)) {
      this.event(decision, 'Warning', 'IPAllocationFailed', now.message);
    }
    this.#text.set(decision.key, text);
    this.#decisions.set(decision.key, decision);
    return true;
  }

  decision(service: ServiceKey): ServiceDecision | undefined {
    return this.#decisions.get(service);
  }

  /** A Service herald no longer serves: its "unmanaged" decision, once, if herald had decided for it. */
  forget(service: ServiceKey, namespace: string, name: string): ServiceDecision | undefined {
    const had = this.#decisions.get(service)?.managed === true;
    this.#decisions.delete(service);
    this.#text.delete(service);
    this.#notes.delete(service);
    return had ? { key: service, namespace, name, managed: false, ips: [] } : undefined;
  }
}
