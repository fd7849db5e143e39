/**
 * /livez, /readyz and /metrics for herald's processes. Liveness and
 * readiness are functions supplied by the process, so each job decides what
 * "alive" and "ready" mean for it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Probe {
  /** Resolves to undefined when healthy, or the reason when not. */
  (): string | undefined;
}

export interface HealthServerOptions {
  address: string;
  port: number;
  registry: Registry;
  live: Probe;
  ready: Probe;
  /** Extra read-only JSON endpoints, e.g. /status. */
  json?: Record<string, () => unknown>;
}

export class HealthServer {
  private readonly server: Server;

  constructor(private readonly opts: HealthServerOptions) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const probe = path === '/livez' ? opts.live : path === '/readyz' ? opts.ready : undefined;
      if (probe) {
        const problem = probe();
        res.writeHead(problem === undefined ? 200 : 503, { 'Content-Type': 'text/plain' });
        res.end(problem === undefined ? 'ok\n' : `${problem}\n`);
        return;
      }
      const json = path === undefined ? undefined : opts.json?.[path];
      if (json) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify(json(), null, 2)}\n`);
        return;
      }
      if (path === '/metrics') {
        opts.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': opts.registry.contentType });
          res.end(text);
        }, (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
        return;
      }
      res.writeHead(404);
      res.end('not found: try /livez, /readyz or /metrics\n');
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.address, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
