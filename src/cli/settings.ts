/**
 * Settings for long-running commands: each has a flag (--lease-namespace)
 * and an environment variable (HERALD_LEASE_NAMESPACE), the flag winning.
 * Values are checked at start, so a typo is a clear message, not a crash
 * an hour later.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './command.js';

export interface Setting<T> {
  description: string;
  default: T;
  parse: (raw: string) => T;
}

export type SettingDefs = Record<string, Setting<unknown>>;
export type SettingValues<D extends SettingDefs> = { [K in keyof D]: D[K] extends Setting<infer T> ? T : never };

export function envName(flag: string): string {
  return `HERALD_${flag.replace(/-/g, '_').toUpperCase()}`;
}

export function parseSettings<D extends SettingDefs>(defs: D, argv: readonly string[], env: NodeJS.ProcessEnv): SettingValues<D> {
  const options = Object.fromEntries(Object.keys(defs).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const out: Record<string, unknown> = {};
  for (const [flag, def] of Object.entries(defs)) {
    const raw = values[flag] ?? env[envName(flag)];
    if (raw === undefined) {
      out[flag] = def.default;
      continue;
    }
    try {
      out[flag] = def.parse(raw);
    } catch (err) {
      const source = values[flag] !== undefined ? `--${flag}` : envName(flag);
      throw new UsageError(`${source}=${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out as SettingValues<D>;
}

export function settingsHelp(defs: SettingDefs): string {
  return Object.entries(defs)
    .map(([flag, d]) => `  --${flag} (${envName(flag)}, default ${JSON.stringify(d.default)})\n      ${d.description}`)
    .join('\n');
}

/** What --log-level accepts. */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Parsers shared by commands. */
export const parse = {
  string: (raw: string): string => {
    if (raw.trim() === '') throw new Error('must not be empty');
    return raw.trim();
  },
  list: (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter((s) => s !== ''),
  /** Milliseconds from "250ms", "2s", "1.5s", "1m" or a bare number of ms. */
  duration: (raw: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
    if (!m) throw new Error('must be a duration such as 500ms, 2s or 1m');
    const n = Number(m[1]);
    const ms = m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
    if (!(ms > 0)) throw new Error('must be more than zero');
    return ms;
  },
  /** As duration, and 0 (a feature turned off). */
  durationOrZero: (raw: string): number => (/^0+(\.0+)?(ms|s|m)?$/.test(raw.trim()) ? 0 : parse.duration(raw)),
  port: (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('must be a port number from 0 to 65535');
    return n;
  },
  positiveInt: (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error('must be a whole number of at least 1');
    return n;
  },
  boolean: (raw: string): boolean => {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new Error('must be true or false');
  },
  logLevel: (raw: string): string => {
    if (!LOG_LEVELS.includes(raw)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
    return raw;
  },
};

/** Settings every long-running herald process has. */
export function commonSettings(healthPort: number): {
  kubeconfig: Setting<string>; 'health-address': Setting<string>; 'health-port': Setting<number>; 'log-level': Setting<string>;
} {
  return {
    kubeconfig: { description: 'kubeconfig file; empty means $KUBECONFIG, ~/.kube/config or in-cluster', default: '', parse: parse.string },
    'health-address': { description: 'address for /livez, /readyz and /metrics (and /status)', default: '0.0.0.0', parse: parse.string },
    'health-port': { description: 'port for /livez, /readyz and /metrics (0 picks a free one)', default: healthPort, parse: parse.port },
    'log-level': { description: 'trace, debug, info, warn or error', default: 'info', parse: parse.logLevel },
  };
}
