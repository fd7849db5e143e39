/**
 * An in-memory apiserver behind KubeTransport's two methods (json and open),
 * for unit tests of code that takes its transport from outside, such as the
 * agent. Collections are keyed by their path; resourceVersions come from one
 * counter; PUT is a compare-and-swap on resourceVersion and POST fails on an
 * existing name, as the apiserver's do; a watch replays every change after
 * its resourceVersion, then follows. Label selectors (`key`, `key=value`)
 * and the metadata.name field selector are honoured.
 *
 * Faults: stall(collection) makes the open watches of a collection go quiet
 * (connected, delivering nothing, not even bookmarks) while writes keep
 * working; a watch opened afterwards is healthy.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { KubeApiError, type KubeTransport, type RequestOptionsLite } from '../../src/kube/transport.js';

interface Obj { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> } & Record<string, unknown>; [k: string]: unknown }
interface Change { readonly collection: string; readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: Obj; readonly rv: number }
interface Watch { readonly collection: string; readonly query: URLSearchParams; readonly res: PassThrough; stalled: boolean }

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export class FakeApi {
  readonly transport: KubeTransport;
  /** Every watch request, in order (path and query). */
  readonly watchRequests: string[] = [];
  private rv = 100;
  private readonly collections = new Map<string, Map<string, Obj>>();
  private readonly changes: Change[] = [];
  private readonly watches = new Set<Watch>();

  constructor() {
    this.transport = {
      json: <T>(path: string, opts: RequestOptionsLite = {}): Promise<T> => this.json(path, opts) as Promise<T>,
      open: (path: string, opts: RequestOptionsLite = {}): Promise<IncomingMessage> => Promise.resolve(this.open(path, opts)),
      close: () => undefined,
    } as unknown as KubeTransport;
  }

  /** Creates or replaces an object, whatever its version (what another client would do). */
  put(collection: string, object: object): Obj {
    const items = this.items(collection);
    const stored = copy(object) as Obj;
    const type = items.has(stored.metadata.name) ? 'MODIFIED' : 'ADDED';
    stored.metadata.resourceVersion = String(++this.rv);
    items.set(stored.metadata.name, stored);
    this.emit({ collection, type, object: stored, rv: this.rv });
    return copy(stored);
  }

  get(collection: string, name: string): Obj | undefined {
    const o = this.collections.get(collection)?.get(name);
    return o === undefined ? undefined : copy(o);
  }

  /** The open watches of `collection` go quiet; watches opened later are not affected. */
  stall(collection: string): void {
    for (const w of this.watches) if (w.collection === collection) w.stalled = true;
  }

  private items(collection: string): Map<string, Obj> {
    let m = this.collections.get(collection);
    if (m === undefined) this.collections.set(collection, (m = new Map<string, Obj>()));
    return m;
  }

  private json(path: string, opts: RequestOptionsLite): Promise<unknown> {
    const url = new URL(path, 'https://fake');
    const method = opts.method ?? 'GET';
    const fail = (status: number, reason: string): Promise<never> => Promise.reject(new KubeApiError(status, reason, reason, method, url.pathname));
    // A list: the reflector always pages, an item GET never does.
    if (method === 'GET' && url.searchParams.has('limit')) {
      const items = [...this.items(url.pathname).values()].filter((o) => matches(o, url.searchParams));
      return Promise.resolve(copy({ items, metadata: { resourceVersion: String(this.rv) } }));
    }
    const cut = url.pathname.lastIndexOf('/');
    const [collection, name] = [url.pathname.slice(0, cut), url.pathname.slice(cut + 1)];
    switch (method) {
      case 'GET': {
        const o = this.get(collection, name);
        return o === undefined ? fail(404, 'NotFound') : Promise.resolve(o);
      }
      case 'POST': {
        const body = opts.body as Obj;
        if (url.pathname.includes('/events')) return Promise.resolve(copy(body));
        if (this.items(url.pathname).has(body.metadata.name)) return fail(409, 'AlreadyExists');
        return Promise.resolve(this.put(url.pathname, body));
      }
      case 'PUT': {
        const body = opts.body as Obj;
        const stored = this.collections.get(collection)?.get(name);
        if (stored === undefined) return fail(404, 'NotFound');
        if (body.metadata.resourceVersion !== stored.metadata.resourceVersion) return fail(409, 'Conflict');
        return Promise.resolve(this.put(collection, body));
      }
      case 'PATCH':
        // Status applies (policy conditions): accepted and forgotten.
        return Promise.resolve({});
      default:
        return fail(405, 'MethodNotAllowed');
    }
  }

  private open(path: string, opts: RequestOptionsLite): IncomingMessage {
    const url = new URL(path, 'https://fake');
    this.watchRequests.push(path);
    const res = Object.assign(new PassThrough(), { statusCode: 200 });
    const watch: Watch = { collection: url.pathname, query: url.searchParams, res, stalled: false };
    this.watches.add(watch);
    res.on('close', () => { this.watches.delete(watch); });
    opts.signal?.addEventListener('abort', () => { res.destroy(new Error('aborted')); }, { once: true });
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    for (const c of this.changes) if (c.rv > from) this.deliver(watch, c);
    return res as unknown as IncomingMessage;
  }

  private emit(change: Change): void {
    this.changes.push(change);
    for (const w of this.watches) this.deliver(w, change);
  }

  private deliver(w: Watch, c: Change): void {
    if (w.stalled || w.collection !== c.collection || !matches(c.object, w.query)) return;
    w.res.write(`${JSON.stringify({ type: c.type, object: c.object })}\n`);
  }
}

function matches(o: Obj, q: URLSearchParams): boolean {
  const labels = o.metadata.labels ?? {};
  for (const term of (q.get('labelSelector') ?? '').split(',').filter((t) => t !== '')) {
    const [key = '', value] = term.split('=');
    if (value === undefined ? !(key in labels) : labels[key] !== value) return false;
  }
  const field = q.get('fieldSelector');
  return field === null || field === `metadata.name=${o.metadata.name}`;
}
