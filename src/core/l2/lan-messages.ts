/**
 * The messages of herald's LAN liveness protocol (docs/l2-announcements.md,
 * "Liveness on the LAN"), as the pure core sends and receives them. The
 * packet adapter (src/packet/liveness-frame.ts) puts each in one Ethernet
 * frame of EtherType 0x88B5 (IEEE 802 local experimental) on the link it
 * names; the simulator delivers them on its simulated LAN.
 */

export type LanMessage =
  /** Sent by every node, every hello interval, to each of its monitors. */
  | { readonly kind: 'hello'; readonly seq: number }
  /** "Are you there?", sent to `target` itself. */
  | { readonly kind: 'probe'; readonly nonce: number; readonly target: string }
  /** The answer to a probe, sent back to its sender. */
  | { readonly kind: 'ack'; readonly nonce: number }
  /** "Probe `target` for me": a suspecting monitor asks a helper (SWIM's ping-req). */
  | { readonly kind: 'probe-req'; readonly nonce: number; readonly target: string; readonly targetMac: string }
  /** The helper's answer to a probe-req: whether `target` acked its probe in time. */
  | { readonly kind: 'probe-res'; readonly nonce: number; readonly target: string; readonly alive: boolean }
  /** Broadcast on the link by a monitor that confirmed `target` unreachable there. */
  | { readonly kind: 'down'; readonly nonce: number; readonly target: string }
  /**
   * Broadcast on the link by an agent restarting in place (SIGTERM while its node stays):
   * "I am being replaced; do not suspect me for graceMs, or until you hear a hello from me".
   */
  | { readonly kind: 'pause'; readonly graceMs: number };

export type LanMessageKind = LanMessage['kind'];

/** A message to send: on which link, to which node, at which MAC. */
export interface LanSend {
  readonly link: string;
  readonly to: string;
  readonly toMac: string;
  readonly msg: LanMessage;
}

/** A message received: on which link, from which node (as the frame says) and MAC. */
export interface LanReceived {
  readonly link: string;
  readonly from: string;
  readonly fromMac: string;
  readonly msg: LanMessage;
}
