/**
 * Gateways, while the Gateway API is installed. The agent follows the one CRD
 * that matters, gateways.gateway.networking.k8s.io (a watch on that name
 * alone), and runs a Gateway reflector only while that CRD is Established and
 * serves v1. An API installed or removed while the agent runs is noticed
 * within one watch delivery, not at the agent's next restart.
 */
import type { Meta } from '../kube/objects.js';
import type { Reflector } from '../kube/reflector.js';
import type { Logger } from '../log.js';
import type { GatewayObject } from './convert.js';

export const GATEWAY_CRD = 'gateways.gateway.networking.k8s.io';
export const CRDS_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
export const GATEWAYS_PATH = '/apis/gateway.networking.k8s.io/v1/gateways';

export interface CrdObject {
  metadata: Meta;
  spec?: { versions?: { name: string; served?: boolean }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Whether gateway.networking.k8s.io/v1 Gateways can be listed and watched. */
export function servesGatewaysV1(crd: CrdObject | undefined): boolean {
  return (crd?.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True')
    && (crd?.spec?.versions ?? []).some((v) => v.name === 'v1' && v.served === true);
}

export interface GatewayApiOptions {
  /** A reflector on CRDS_PATH with fieldSelector metadata.name=GATEWAY_CRD. */
  readonly crds: Reflector<CrdObject>;
  /** Builds a Gateway reflector (on GATEWAYS_PATH), each time the API appears. */
  readonly gateways: () => Reflector<GatewayObject>;
  /** Gateway labels changed (a Gateway event, or the API went away). */
  readonly onChange: () => void;
  readonly log: Logger;
}

interface Watching {
  readonly reflector: Reflector<GatewayObject>;
  /** Settles when this reflector is given up, so nobody waits for its sync forever. */
  readonly given: Promise<void>;
  readonly giveUp: () => void;
}

export class GatewayApi {
  private watching: Watching | undefined;
  private readonly stopping = new Set<Promise<void>>();

  constructor(private readonly o: GatewayApiOptions) {
    o.crds.onEvent(() => { this.follow(); });
  }

  get crds(): Reflector<CrdObject> { return this.o.crds; }

  /** Whether Gateways are being watched now. */
  get installed(): boolean { return this.watching !== undefined; }

  start(): void {
    this.o.crds.start();
  }

  /** Resolves once the CRD is known and, if Gateways are served, listed (or the API went away meanwhile). */
  async waitSynced(): Promise<void> {
    await this.o.crds.waitSynced();
    this.follow();
    const w = this.watching;
    if (w) await Promise.race([w.reflector.waitSynced(), w.given]);
  }

  /** Labels of every Gateway by namespace/name; none without the API. */
  labels(): Map<string, Record<string, string>> {
    const out = new Map<string, Record<string, string>>();
    for (const g of this.watching?.reflector.list() ?? []) out.set(`${g.metadata.namespace ?? ''}/${g.metadata.name}`, g.metadata.labels ?? {});
    return out;
  }

  async stop(): Promise<void> {
    this.giveUp();
    await Promise.all([this.o.crds.stop(), ...this.stopping]);
  }

  private follow(): void {
    const serves = servesGatewaysV1(this.o.crds.get(GATEWAY_CRD));
    if (serves && !this.watching) {
      const reflector = this.o.gateways();
      let giveUp = (): void => undefined;
      const given = new Promise<void>((resolve) => { giveUp = resolve; });
      this.watching = { reflector, given, giveUp };
      reflector.onEvent(() => { this.o.onChange(); });
      reflector.start();
      this.o.log.info({ crd: GATEWAY_CRD }, 'the Gateway API is installed: watching Gateways');
    } else if (!serves && this.watching) {
      this.o.log.info({ crd: GATEWAY_CRD }, 'the Gateway API is gone: no longer watching Gateways');
      this.giveUp();
      this.o.onChange();
    }
  }

  private giveUp(): void {
    const w = this.watching;
    if (!w) return;
    this.watching = undefined;
    w.giveUp();
    const stopped = w.reflector.stop().finally(() => { this.stopping.delete(stopped); });
    this.stopping.add(stopped);
  }
}
