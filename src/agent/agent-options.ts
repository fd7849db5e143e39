/** What `herald agent` is given: its settings, and the dependencies that touch the outside world. */
import type { CoordinationSettings } from '../core/l2/coordination-settings.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import type { Link } from '../net/ip-link.js';
import type { LinkSource } from '../net/link-inventory.js';
import type { OpenFrameSocket } from '../packet/packet-socket.js';

export interface AgentSettings {
  nodeName: string;
  /** Namespace of the node and per-Service Leases. */
  namespace: string;
  coordination: CoordinationSettings;
  loadBalancerClasses: string[];
  externalIPsMustBeInPool: boolean;
  healthAddress: string;
  healthPort: number;
  /** How long SIGTERM waits for handovers to be written. */
  handoverTimeoutMs: number;
  /**
   * SIGTERM while our Node stays (schedulable, Ready, not being deleted or excluded): restart
   * in place, peers waiting this long for the new agent; 0: always hand over (restart.ts).
   */
  restartGraceMs: number;
}

/** The node's links: what the responder follows, and the list the node Lease publishes. */
export interface AgentLinks extends LinkSource {
  list(): readonly Link[];
}

export interface AgentOptions {
  /** The apiserver, with this agent's credentials. */
  readonly transport: KubeTransport;
  /** Monotonic milliseconds (performance.now in production): every time the core reasons about. */
  readonly clock: () => number;
  readonly links: AgentLinks;
  /** Raw sockets for the responder; the AF_PACKET addon when left out. */
  readonly openSocket?: OpenFrameSocket;
  readonly settings: AgentSettings;
  readonly log: Logger;
}
