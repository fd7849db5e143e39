/**
 * How herald reaches the apiserver: the server URL and what to add to each
 * HTTPS request (CA, client certificate, bearer token).
 *
 * client-node's KubeConfig does this too, but importing it loads all of
 * client-node's generated API and model code (about 60 MiB of RSS, most of a
 * herald agent's memory; see docs/benchmarks.md), while KubeTransport needs
 * only these two things. So the common cases are read here: the in-cluster
 * service account (token re-read as the kubelet rotates it), and a
 * kubeconfig file whose user has a client certificate, a token or a token
 * file. Anything else (exec plugins, auth providers, basic auth,
 * impersonation, proxies, several files in $KUBECONFIG) is handed to
 * client-node's KubeConfig, loaded only then.
 */
import { readFileSync, statSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

/** What KubeTransport needs. client-node's KubeConfig has this shape too. */
export interface KubeAccess {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token file is trusted before it is read again (client-node uses a minute too). */
const TOKEN_FILE_TTL_MS = 60_000;

export interface LoadOptions {
  /** An explicit kubeconfig path (--kubeconfig); otherwise $KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly path?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** Where the in-cluster token and CA are (tests). */
  readonly serviceAccountDir?: string;
  readonly now?: () => number;
}

interface TlsMaterial { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string }

type Token = { kind: 'none' } | { kind: 'static'; token: string } | { kind: 'file'; path: string };

/** A cluster and user that need nothing but files and headers. */
export class SimpleKubeAccess implements KubeAccess {
  private cachedToken: { value: string; readAt: number } | undefined;

  constructor(
    readonly server: string,
    private readonly tls: TlsMaterial,
    private readonly token: Token,
    private readonly now: () => number = Date.now,
  ) {}

  getCurrentCluster(): { readonly server: string } {
    return { server: this.server };
  }

  applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const { ca, cert, key, rejectUnauthorized, servername } = this.tls;
    if (ca !== undefined) opts.ca = ca;
    if (cert !== undefined) opts.cert = cert;
    if (key !== undefined) opts.key = key;
    if (rejectUnauthorized !== undefined) opts.rejectUnauthorized = rejectUnauthorized;
    if (servername !== undefined) opts.servername = servername;
    const token = this.currentToken();
    if (token !== undefined) {
      const auth = `Bearer ${token}`;
      const headers = opts.headers;
      opts.headers = Array.isArray(headers) ? [...(headers as readonly string[]), 'Authorization', auth] : { ...headers, Authorization: auth };
    }
    return Promise.resolve();
  }

  private currentToken(): string | undefined {
    if (this.token.kind === 'none') return undefined;
    if (this.token.kind === 'static') return this.token.token;
    const now = this.now();
    if (this.cachedToken === undefined || now - this.cachedToken.readAt >= TOKEN_FILE_TTL_MS) {
      // A failed re-read keeps the last token: the kubelet replaces the file atomically, so this is rare and brief.
      try {
        this.cachedToken = { value: readFileSync(this.token.path, 'utf8').trim(), readAt: now };
      } catch (err) {
        if (this.cachedToken === undefined) throw err;
      }
    }
    return this.cachedToken.value;
  }
}

export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

type Json = Record<string, unknown>;
const record = (x: unknown): Json | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : undefined);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);

function named(list: unknown, name: string, field: string): Json | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list) {
    const r = record(item);
    if (r !== undefined && r.name === name) return record(r[field]);
  }
  return undefined;
}

/** Fields this module reads; a kubeconfig using any other user or cluster field goes to client-node. */
const SIMPLE_USER = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile']);
const SIMPLE_CLUSTER = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

/** The KubeAccess for a parsed kubeconfig, or undefined when it needs client-node. */
export function simpleAccessFromKubeconfig(config: unknown, file: string, now?: () => number): SimpleKubeAccess | undefined {
  const doc = record(config);
  if (doc === undefined) throw new KubeconfigError(`${file}: not a kubeconfig`);
  const contextName = str(doc['current-context']);
  if (contextName === undefined) throw new KubeconfigError(`${file}: no current-context`);
  const context = named(doc.contexts, contextName, 'context');
  if (context === undefined) throw new KubeconfigError(`${file}: no context named ${contextName}`);
  const clusterName = str(context.cluster) ?? '';
  const cluster = named(doc.clusters, clusterName, 'cluster');
  const server = str(cluster?.server);
  if (cluster === undefined || server === undefined) throw new KubeconfigError(`${file}: the current context names no cluster with a server`);
  const userName = str(context.user);
  const user = userName === undefined ? {} : named(doc.users, userName, 'user') ?? {};
  if (Object.keys(user).some((k) => !SIMPLE_USER.has(k)) || Object.keys(cluster).some((k) => !SIMPLE_CLUSTER.has(k))) return undefined;
  const base = dirname(file);
  const read = (dataField: unknown, fileField: unknown): Buffer | undefined => {
    const data = str(dataField);
    if (data !== undefined) return Buffer.from(data, 'base64');
    const path = str(fileField);
    return path === undefined ? undefined : readFileSync(isAbsolute(path) ? path : join(base, path));
  };
  const tls: TlsMaterial = {};
  const ca = read(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca !== undefined) tls.ca = ca;
  const cert = read(user['client-certificate-data'], user['client-certificate']);
  if (cert !== undefined) tls.cert = cert;
  const key = read(user['client-key-data'], user['client-key']);
  if (key !== undefined) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  const servername = str(cluster['tls-server-name']);
  if (servername !== undefined) tls.servername = servername;
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  const auth: Token = token !== undefined ? { kind: 'static', token }
    : tokenFile !== undefined ? { kind: 'file', path: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) }
      : { kind: 'none' };
  return new SimpleKubeAccess(server.replace(/\/+$/, ''), tls, auth, now);
}

/** The in-cluster service account, as client-node's loadFromCluster reads it. */
export function inClusterAccess(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR, now?: () => number): SimpleKubeAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new SimpleKubeAccess(server, { ca: readFileSync(join(dir, 'ca.crt')) }, { kind: 'file', path: join(dir, 'token') }, now);
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

async function parseFile(file: string): Promise<unknown> {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The YAML parser costs a few MiB, so it is loaded only for a file that is not JSON.
    const { parse } = await import('yaml');
    return parse(text) as unknown;
  }
}

/** client-node's KubeConfig for what this module does not read itself. */
async function viaClientNode(paths: readonly string[] | 'default'): Promise<KubeAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (paths === 'default') kc.loadFromDefault();
  else kc.loadFromFile(paths[0] ?? '');
  if (!kc.getCurrentCluster()) throw new KubeconfigError('the kubeconfig names no current cluster');
  return kc;
}

/**
 * --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the in-cluster
 * service account: client-node's loadFromDefault order.
 */
export async function loadKubeAccess(opts: LoadOptions = {}): Promise<KubeAccess> {
  const env = opts.env ?? process.env;
  let file = opts.path;
  if (file === undefined) {
    const list = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
    if (list.length > 1) return viaClientNode('default');
    file = list[0];
  }
  if (file === undefined) {
    const home = join(opts.home ?? homedir(), '.kube', 'config');
    if (exists(home)) file = home;
  }
  if (file === undefined) {
    const inCluster = inClusterAccess(env, opts.serviceAccountDir, opts.now);
    if (inCluster !== undefined) return inCluster;
    throw new KubeconfigError('no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a cluster');
  }
  return simpleAccessFromKubeconfig(await parseFile(file), file, opts.now) ?? viaClientNode([file]);
}
