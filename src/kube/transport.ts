/**
 * Plain HTTPS to the apiserver, authenticated from a KubeConfig.
 *
 * client-node's typed APIs are used for ordinary calls (Leases, status
 * patches, Events). Lists and watches of arbitrary collections come through
 * here instead: client-node's Watch cannot be aborted until response headers
 * arrive, which defeats a watchdog against a silent apiserver, and a generic
 * list by path with a deadline is not something it offers.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
  }
}

export interface RequestOptionsLite {
  method?: string;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Deadline for the response headers (and, for json(), the body). */
  timeoutMs?: number;
}

interface StatusBody { reason?: string; message?: string }

/** Told of every request: its method and the response status, or 'error' when none came (refused, reset, timed out). */
export type RequestObserver = (method: string, code: string) => void;

export class KubeTransport {
  readonly server: string;
  // Keep-alive: a reflector lists, then watches, on the same connection.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private observer: RequestObserver | undefined;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Counts requests (one observer; the process's metrics). */
  observe(observer: RequestObserver): void {
    this.observer = observer;
  }

  /** Opens a request and resolves with the response once headers arrive (any status). */
  async open(path: string, opts: RequestOptionsLite = {}): Promise<IncomingMessage> {
    const url = new URL(this.server + path);
    const method = opts.method ?? 'GET';
    const options: RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (payload !== undefined) {
      options.headers = { ...options.headers, 'Content-Type': opts.contentType ?? 'application/json' };
    }
    const secure = url.protocol === 'https:';
    if (secure) options.agent = this.agent;
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, options, resolve);
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        req.destroy(new Error(`${method} ${path}: no response within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      let responded = false;
      req.on('response', (res) => { responded = true; clearTimeout(timer); this.observer?.(method, String(res.statusCode ?? 0)); });
      req.on('error', (err) => {
        clearTimeout(timer);
        // An error after the response (an aborted watch) was counted with its status.
        if (!responded) this.observer?.(method, 'error');
        reject(err);
      });
      req.on('close', () => { clearTimeout(timer); });
      if (opts.signal) {
        if (opts.signal.aborted) req.destroy(new Error('aborted'));
        opts.signal.addEventListener('abort', () => { req.destroy(new Error('aborted')); }, { once: true });
      }
      req.end(payload);
    });
  }

  /** A JSON request that rejects with KubeApiError on a non-2xx status. */
  async json<T>(path: string, opts: RequestOptionsLite = {}): Promise<T> {
    const started = Date.now();
    const res = await this.open(path, opts);
    const rest = opts.timeoutMs === undefined ? undefined : Math.max(1, opts.timeoutMs - (Date.now() - started));
    const text = await readBody(res, rest);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let body: StatusBody = {};
      try { body = JSON.parse(text) as StatusBody; } catch { /* not a Status */ }
      throw new KubeApiError(status, body.reason ?? res.statusMessage ?? 'Error', body.message ?? text.slice(0, 300),
        opts.method ?? 'GET', path);
    }
    return JSON.parse(text) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

function readBody(res: IncomingMessage, timeoutMs: number | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      res.destroy(new Error(`response body not complete within ${timeoutMs} ms`));
    }, timeoutMs);
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')); });
    res.on('error', (err) => { clearTimeout(timer); reject(err); });
    res.on('close', () => { clearTimeout(timer); if (!res.complete) reject(new Error('connection closed mid-response')); });
  });
}
