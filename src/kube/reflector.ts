/**
 * A reflector: list, then watch, one collection, and keep a consistent cache.
 *
 * It never stops silently. Every way a watch can end (server timeout, 410
 * Gone, network error, an apiserver restart, or a connection that just goes
 * quiet) leads back to a watch from the last seen resourceVersion, or to a
 * fresh list when that version is too old, after a jittered backoff. A re-list
 * is diffed against the cache so consumers see the add/update/delete events
 * they missed, and no object they never had.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS } from './timeouts.js';
import { KubeApiError, type KubeTransport } from './transport.js';

/** Objects per list page, as client-go's pager: one response stays small however big the collection. */
const LIST_PAGE_SIZE = 500;
/** Deadline of one list page: ample for 500 objects from a loaded apiserver; a hung list is retried with backoff. */
const LIST_REQUEST_TIMEOUT_MS = 30_000;
/** Server-side watch timeout, drawn between these, as client-go's reflector (5 to 10 min): clients do not re-watch in step. */
const WATCH_TIMEOUT_MIN_SECONDS = 300;
/** Twice the minimum, as client-go: a wide spread, and no watch lasts past ten minutes. */
const WATCH_TIMEOUT_MAX_SECONDS = 600;
/** The apiserver sends a bookmark about once a minute to a watch that asks for them; 90 s of silence means a dead connection. */
const WATCH_IDLE_TIMEOUT_MS = 90_000;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}
export interface KubeObject { metadata?: ObjectMeta }

export type ReflectorEvent<T> =
  | { type: 'added'; object: T }
  | { type: 'updated'; object: T; old: T }
  | { type: 'deleted'; object: T };

export interface ReflectorOptions<T extends KubeObject = KubeObject> {
  transport: KubeTransport;
  /** Collection path, e.g. /api/v1/services or /apis/cilium.io/v2/ciliumloadbalancerippools. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  pageSize?: number;
  /** Server-side watch timeout, jittered between min and max so clients spread out. */
  watchTimeoutSeconds?: { min: number; max: number };
  /** Restart the watch when no byte (not even a bookmark) arrived for this long. */
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Applied to every object of a list and of every ADDED, MODIFIED and
   * DELETED watch event before it is cached or emitted, typically to keep
   * only the fields the consumer reads (memory). It gets the object as
   * parsed from the wire and must keep metadata.name, namespace, uid and
   * resourceVersion: the cache is keyed by name, and resourceVersion drives
   * re-list diffs and where the next watch starts. It must not throw. Without
   * it the parsed object is cached as it came.
   */
  transform?: (raw: unknown) => T;
}

interface WatchLine { type: string; object: unknown }
interface WatchStatus extends KubeObject { code?: number; reason?: string; message?: string }
interface ListBody { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } }

export function objectKey(o: KubeObject): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

/** The watch must start over from a list: the resourceVersion is too old. */
class Gone extends Error {}

export class Reflector<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly emitter = new EventEmitter();
  private resourceVersion = '';
  private hasSynced = false;
  private stopped = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private wakeUp: (() => void) | undefined;
  /** Set by restart() until the next attempt begins. */
  private restartRequested = false;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsOnGone: 0, watchdogFires: 0, restarts: 0, errors: 0 };

  private readonly transform: (raw: unknown) => T;

  constructor(private readonly opts: ReflectorOptions<T>) {
    this.transform = opts.transform ?? ((raw) => raw as T);
    this.backoff = new Backoff(opts.backoff?.initialMs ?? BACKOFF_INITIAL_MS, opts.backoff?.maxMs ?? BACKOFF_MAX_MS);
  }

  /** Registers a consumer. Events arrive after the cache holds the change. */
  onEvent(handler: (event: ReflectorEvent<T>) => void): void {
    this.emitter.on('event', handler);
  }

  /** Called after each complete list (first sync and every re-list). */
  onSynced(handler: () => void): void {
    this.emitter.on('synced', handler);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wakeUp?.();
    await this.loop;
  }

  /**
   * Abandons the current list or watch (or backoff) and starts over at once
   * from the last resourceVersion. For a consumer that can tell, sooner than
   * the watchdog, that the watch has gone quiet (a write of its own that
   * does not come back on it, say).
   */
  restart(reason: string): void {
    if (this.stopped || !this.loop) return;
    this.stats.restarts++;
    this.log().info({ path: this.opts.path, reason, resourceVersion: this.resourceVersion }, 'restarting the watch');
    this.restartRequested = true;
    this.abort?.abort();
    this.wakeUp?.();
  }

  get synced(): boolean { return this.hasSynced; }

  waitSynced(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => { this.emitter.once('synced', resolve); });
  }

  get(key: string): T | undefined { return this.cache.get(key); }
  list(): T[] { return [...this.cache.values()]; }
  get size(): number { return this.cache.size; }
  get lastResourceVersion(): string { return this.resourceVersion; }

  private log(): Logger { return this.opts.log; }

  /** A getter, so that TypeScript does not narrow it across awaits. */
  private get halted(): boolean { return this.stopped; }
  private get restarting(): boolean { return this.restartRequested; }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      // A restart asked for before this attempt is this attempt.
      this.restartRequested = false;
      try {
        if (needList) {
          await this.listAll();
          needList = false;
        }
        await this.watchOnce();
        // A watch that ended normally (server timeout, watchdog) resumes at once.
      } catch (err) {
        if (this.halted) break;
        if (this.restarting) continue;
        if (err instanceof Gone) {
          this.stats.relistsOnGone++;
          this.log().info({ path: this.opts.path }, 'resourceVersion too old (410 Gone): re-listing');
          needList = true;
          continue;
        }
        this.stats.errors++;
        const delay = this.backoff.next();
        this.log().warn({ path: this.opts.path, err, retryInMs: delay }, 'list/watch failed; retrying');
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void { clearTimeout(timer); resolve(); }
      this.wakeUp = done;
    });
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.opts.labelSelector) q.set('labelSelector', this.opts.labelSelector);
    if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
    return `${this.opts.path}?${q.toString()}`;
  }

  private async listAll(): Promise<void> {
    this.stats.lists++;
    const fresh = new Map<string, T>();
    let token = '';
    let rv = '';
    do {
      const params: Record<string, string> = { limit: String(this.opts.pageSize ?? LIST_PAGE_SIZE) };
      if (token) params.continue = token;
      this.abort = new AbortController();
      const page = await this.opts.transport.json<ListBody>(this.query(params), {
        signal: this.abort.signal, timeoutMs: this.opts.requestTimeoutMs ?? LIST_REQUEST_TIMEOUT_MS,
      }).catch((err: unknown) => {
        // An expired continue token: the list starts over (the loop re-lists).
        if (err instanceof KubeApiError && err.status === 410) throw new Error('list continue token expired');
        throw err;
      });
      for (const raw of page.items ?? []) {
        const item = this.transform(raw);
        fresh.set(objectKey(item), item);
      }
      token = page.metadata?.continue ?? '';
      rv = page.metadata?.resourceVersion ?? rv;
    } while (token && !this.halted);
    if (this.halted) return;
    this.replace(fresh, rv);
  }

  /** Makes the cache equal to a fresh list and emits the differences. */
  private replace(fresh: Map<string, T>, rv: string): void {
    const events: ReflectorEvent<T>[] = [];
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        events.push({ type: 'deleted', object: old });
      }
    }
    for (const [key, object] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, object);
      if (!old) events.push({ type: 'added', object });
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) events.push({ type: 'updated', object, old });
    }
    this.resourceVersion = rv;
    this.backoff.reset();
    for (const e of events) this.emitter.emit('event', e);
    this.hasSynced = true;
    this.emitter.emit('synced');
  }

  private async watchOnce(): Promise<void> {
    const { min, max } = this.opts.watchTimeoutSeconds ?? { min: WATCH_TIMEOUT_MIN_SECONDS, max: WATCH_TIMEOUT_MAX_SECONDS };
    const timeout = Math.round(min + Math.random() * (max - min));
    this.abort = new AbortController();
    const abort = this.abort;
    this.stats.watches++;
    const idleMs = this.opts.idleTimeoutMs ?? WATCH_IDLE_TIMEOUT_MS;
    // The watchdog covers the wait for headers too: a frozen apiserver never sends them.
    let idle: NodeJS.Timeout | undefined;
    const fired = { value: false };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        fired.value = true;
        this.stats.watchdogFires++;
        this.log().warn({ path: this.opts.path, idleMs }, 'watch silent for too long; restarting it');
        abort.abort();
      }, idleMs);
    };
    arm();
    try {
      const res = await this.opts.transport.open(this.query({
        watch: '1', resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout),
      }), { signal: abort.signal });
      if (res.statusCode === 410) { res.resume(); throw new Gone(); }
      if (res.statusCode !== 200) {
        const body = await collect(res);
        throw new KubeApiError(res.statusCode ?? 0, res.statusMessage ?? 'Error', body.slice(0, 300), 'WATCH', this.opts.path);
      }
      await this.consume(res, arm);
    } catch (err) {
      if (fired.value || this.stopped || this.restarting) return;
      throw err;
    } finally {
      clearTimeout(idle);
    }
  }

  private consume(res: IncomingMessage, onData: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffered = '';
      let failure: Error | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        onData();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line || failure) continue;
          try {
            this.handle(JSON.parse(line) as WatchLine);
          } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
            res.destroy();
          }
        }
      });
      res.on('error', (err) => { reject(failure ?? err); });
      res.on('close', () => { if (failure) reject(failure); else resolve(); });
    });
  }

  private handle(line: WatchLine): void {
    switch (line.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const object = this.transform(line.object);
        const key = objectKey(object);
        const old = this.cache.get(key);
        this.cache.set(key, object);
        this.bump(object);
        this.emitter.emit('event', old ? { type: 'updated', object, old } : { type: 'added', object });
        return;
      }
      case 'DELETED': {
        const object = this.transform(line.object);
        const key = objectKey(object);
        const old = this.cache.get(key);
        this.cache.delete(key);
        this.bump(object);
        if (old) this.emitter.emit('event', { type: 'deleted', object });
        return;
      }
      case 'BOOKMARK':
        this.bump(line.object as KubeObject);
        return;
      case 'ERROR': {
        const object = line.object as WatchStatus;
        if (object.code === 410) throw new Gone();
        throw new Error(`watch error ${object.code ?? '?'} ${object.reason ?? ''}: ${object.message ?? ''}`);
      }
      default:
        throw new Error(`unknown watch event type ${line.type}`);
    }
  }

  private bump(object: KubeObject): void {
    const rv = object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.backoff.reset();
  }
}

function collect(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { s += c; });
    res.on('end', () => { resolve(s); });
    res.on('error', () => { resolve(s); });
  });
}
