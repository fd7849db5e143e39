/**
 * This node's heartbeat Lease (herald-agent-<node>), renewed every interval
 * with the node's up links. Each renewal is reported as it starts and ends,
 * because the core's view of the API (ApiView) is built on them: our own
 * renewal, landing promptly and coming back on the watch, is the probe that
 * says the renewals of other live nodes would have too.
 */
import type { CoordinationSettings } from '../core/l2/coordination-settings.js';
import { heartbeatLeaseName } from '../core/l2/lease-names.js';
import { LeaseLock } from '../kube/lease-lock.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import { LEASE_KIND, READY, UP_LINKS } from './convert.js';
import type { AgentMetrics } from './metrics.js';

export interface HeartbeatOptions {
  readonly transport: KubeTransport;
  readonly namespace: string;
  readonly node: string;
  readonly settings: CoordinationSettings;
  readonly clock: () => number;
  readonly upLinks: () => readonly string[];
  /** Whether this agent can claim yet (AgentCore.ready), written with every renewal. */
  readonly ready: () => boolean;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  readonly started: (now: number) => void;
  /** rv: the resourceVersion written, which the Lease watch should deliver next. */
  readonly succeeded: (rv: string, now: number) => void;
  readonly failed: (now: number) => void;
}

export class Heartbeat {
  private readonly lock: LeaseLock;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: HeartbeatOptions) {
    this.lock = new LeaseLock({
      transport: o.transport, namespace: o.namespace, name: heartbeatLeaseName(o.node), identity: o.node, now: o.clock,
      leaseDurationSeconds: Math.max(1, Math.ceil(o.settings.heartbeatExpiryMs / 1000)),
      labels: { [LEASE_KIND]: 'heartbeat' }, annotations: () => ({ [UP_LINKS]: o.upLinks().join(','), [READY]: String(o.ready()) }),
      // A renewal slower than the expiry is useless to everyone: give up and try again.
      timeoutMs: o.settings.heartbeatExpiryMs,
    });
  }

  /** One renewal now; the next starts an interval after this one did. */
  start(): void {
    if (this.stopped) return;
    const { o } = this;
    const startedAt = o.clock();
    o.started(startedAt);
    this.inflight = this.lock.acquireOrRenew().then((outcome) => {
      o.metrics.renewSeconds.observe((o.clock() - startedAt) / 1000);
      if (outcome.held) {
        o.succeeded(outcome.lease.metadata?.resourceVersion ?? '', o.clock());
        return;
      }
      o.log.warn({ holder: outcome.holder }, 'heartbeat Lease held by someone else');
      o.metrics.renewFailures.inc();
      o.failed(o.clock());
    }, (err: unknown) => {
      o.log.warn({ err: String(err) }, 'heartbeat renewal failed');
      o.metrics.renewFailures.inc();
      o.failed(o.clock());
    }).finally(() => {
      const wait = Math.max(0, o.settings.heartbeatIntervalMs - (o.clock() - startedAt));
      if (!this.stopped) this.timer = setTimeout(() => { this.start(); }, wait);
    });
  }

  /** No more renewals; resolves once none is in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inflight;
  }

  /** Writes holder '' so that others see us gone at once instead of after an expiry. */
  async release(): Promise<void> {
    await this.stop();
    try {
      await this.lock.release();
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'could not clear the heartbeat; it will expire');
    }
  }
}
